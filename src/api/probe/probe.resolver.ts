import {
  Arg,
  Ctx,
  Args,
  FieldResolver,
  Float,
  ID,
  Int,
  Mutation,
  Query,
  Resolver,
  Root,
  Subscription,
} from 'type-graphql';
import type { SubscribeResolverData } from 'type-graphql';
import type { StoredEvent } from '../../events/bus.js';
import { Layer } from '../architecture/architecture.type.js';
import { PageArgs, type ConnectionShape } from '../relay/connection.js';
import { decodeIntId } from '../relay/global-id.js';
import { RunStatus, TrainingRun } from '../run/training-run.type.js';
import type { GraphQLContext } from '../schema.js';
import { StartProbeInput } from './probe.input.js';
import type { ProbeService } from './probe.service.js';
import {
  FilterOrder,
  FilterResult,
  FilterResultConnection,
  type FilterSummary,
  LayerProbe,
  NormalizationKind,
  Probe,
  ProbeEvent,
  ProbeEventType,
} from './probe.type.js';

type Data = SubscribeResolverData<
  unknown,
  { probeId?: string; afterSequence?: number | null; layer?: string | null },
  GraphQLContext
>;

const numberOrNull = (value: unknown): number | null => (typeof value === 'number' ? value : null);

@Resolver(() => Probe)
export class ProbeResolver {
  constructor(private readonly service: ProbeService) {}

  @Query(() => Probe, { nullable: true })
  probe(@Arg('id', () => ID) id: string): Promise<Probe | null> {
    return this.service.findOne(decodeIntId(id, 'Probe', 'id'));
  }

  @FieldResolver(() => TrainingRun)
  run(@Root() probe: Probe): Promise<TrainingRun> {
    return this.service.run(probe);
  }

  @FieldResolver(() => [LayerProbe], { description: 'Probed layers, in network order.' })
  layers(@Root() probe: Probe): Promise<LayerProbe[]> {
    return this.service.layersOf(probe);
  }

  @Mutation(() => Probe, {
    description:
      'Validates, stores the probe and queues it (CONFLICT unless the run SUCCEEDED); watch it with `probeProgress`. See docs/METHOD.md#phase-2-sr-per-layer.',
  })
  startProbe(
    @Arg('input', () => StartProbeInput) input: StartProbeInput,
    @Ctx() context: GraphQLContext,
  ): Promise<Probe> {
    return this.service.start(input, context.principal.name);
  }

  @Mutation(() => Probe, {
    description:
      'A queued probe ends CANCELLED at once; a running one answers CANCELLING and stops at the end of the batch in progress (CANCELLED). Cancelling a CANCELLING probe answers it again; a finished one is a CONFLICT.',
  })
  cancelProbe(@Arg('id', () => ID) id: string): Promise<Probe> {
    return this.service.cancel(decodeIntId(id, 'Probe', 'id'), id);
  }

  @Subscription(() => ProbeEvent, {
    description:
      "A probe's events: replays those after `afterSequence` (default: all), then live; completes when the probe ends, at once when it has ended and nothing is left to replay. NOT_FOUND for an unknown probe; an `afterSequence` past the last event is BAD_USER_INPUT naming the last sequence.",
    subscribe: ({ args, context }: Data) =>
      context.services.probes.progress(args.probeId as string, args.afterSequence),
  })
  probeProgress(
    @Root() event: StoredEvent,
    @Arg('probeId', () => ID) probeId: string,
    @Arg('afterSequence', () => Int, { nullable: true }) _afterSequence?: number,
  ): ProbeEvent {
    const p = event.payload;
    return Object.assign(new ProbeEvent(), {
      sequence: event.sequence,
      probeId,
      type: event.type as ProbeEventType,
      at: event.at,
      status: (p.status as RunStatus | undefined) ?? null,
      layer: (p.layer as string | undefined) ?? null,
      epoch: numberOrNull(p.epoch),
      testSR: numberOrNull(p.testSR),
      trainLoss: numberOrNull(p.trainLoss),
      successRate: numberOrNull(p.successRate),
      filterIndices: Array.isArray(p.indices) ? (p.indices as number[]) : null,
      filters: Array.isArray(p.filters) ? (p.filters as FilterSummary[]) : null,
      error: (p.error as string | undefined) ?? null,
      reason: (p.reason as string | undefined) ?? null,
      batchesAfterCancel: numberOrNull(p.batchesAfterCancel),
    });
  }

  @Subscription(() => FilterResult, {
    description:
      "A probe's filter results as they are stored (those already stored first), optionally of one layer; completes when the probe ends.",
    subscribe: ({ args, context }: Data) =>
      context.services.probes.filterResults(args.probeId as string, args.layer),
  })
  filterResults(
    @Root() result: FilterResult,
    @Arg('probeId', () => ID) _probeId: string,
    @Arg('layer', () => String, { nullable: true }) _layer?: string,
  ): FilterResult {
    return result;
  }
}

@Resolver(() => LayerProbe)
export class LayerProbeResolver {
  constructor(private readonly service: ProbeService) {}

  @FieldResolver(() => Layer)
  layer(@Root() layerProbe: LayerProbe): Promise<Layer> {
    return this.service.layerOf(layerProbe);
  }

  @FieldResolver(() => Probe)
  probe(@Root() layerProbe: LayerProbe): Promise<Probe> {
    return this.service.probeOf(layerProbe);
  }

  @FieldResolver(() => FilterResultConnection, {
    description:
      'Filters sorted and filtered by the metrics stored for the default parameters; `threshold`, `normalization` and `minScale` only change the values returned. `minSnr` leaves out null SNRs; `label` is the preferred label.',
  })
  filters(
    @Root() layerProbe: LayerProbe,
    @Args() page: PageArgs,
    @Arg('orderBy', () => FilterOrder, { defaultValue: FilterOrder.INDEX }) orderBy: FilterOrder,
    @Arg('minSnr', () => Float, { nullable: true }) minSnr: number | null,
    @Arg('label', () => Int, { nullable: true }) label: number | null,
    @Arg('threshold', () => Float, {
      defaultValue: 0.3,
      description:
        'A mark is a normalised entry N[i][j] >= threshold: in [0, 1] with COLUMN_CENTERED or MAX, any finite number with NONE. See docs/METHOD.md#marks.',
    })
    threshold: number,
    @Arg('normalization', () => NormalizationKind, {
      defaultValue: NormalizationKind.COLUMN_CENTERED,
      description: 'See docs/METHOD.md#normalised-matrix.',
    })
    normalization: NormalizationKind,
    @Arg('minScale', () => Float, {
      defaultValue: 0.05,
      description:
        'Filters with scale < minScale are silent, in [0, 1]. See docs/METHOD.md#scale-and-silent-filters.',
    })
    minScale: number,
  ): Promise<ConnectionShape<FilterResult>> {
    return this.service.filters(layerProbe, {
      ...page,
      orderBy,
      minSnr,
      label,
      threshold,
      normalization,
      minScale,
    });
  }
}

@Resolver(() => FilterResult)
export class FilterResultResolver {
  constructor(private readonly service: ProbeService) {}

  @FieldResolver(() => LayerProbe)
  layer(@Root() filter: FilterResult): Promise<LayerProbe> {
    return this.service.layerProbeOf(filter);
  }
}

@Resolver(() => TrainingRun)
export class ProbeRunResolver {
  constructor(private readonly service: ProbeService) {}

  @FieldResolver(() => [Probe], { description: 'Probes of this run, oldest first.' })
  probes(@Root() run: TrainingRun): Promise<Probe[]> {
    return this.service.ofRun(run.key);
  }
}

@Resolver(() => Layer)
export class ProbeLayerResolver {
  constructor(private readonly service: ProbeService) {}

  @FieldResolver(() => [LayerProbe], {
    description: "This layer's LayerProbe in each probe, oldest first.",
  })
  probes(@Root() layer: Layer): Promise<LayerProbe[]> {
    return this.service.ofLayer(layer.key);
  }
}
