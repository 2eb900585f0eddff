import {
  Arg,
  Args,
  Ctx,
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
import type { ProbeEvents, StoredEvent } from '../../contract/events.js';
import { Layer } from '../architecture/architecture.type.js';
import type { ArchitectureService } from '../architecture/architecture.service.js';
import type { GraphQLContext } from '../context.js';
import { mustExist } from '../lookup.js';
import { PageArgs, type ConnectionShape } from '../relay/connection.js';
import { decodeIntId } from '../relay/global-id.js';
import type { TrainingRunService } from '../run/training-run.service.js';
import { TrainingRun } from '../run/training-run.type.js';
import { FilterResult, FilterResultConnection } from './filter.type.js';
import type { FilterService } from './filter.service.js';
import { ProbeEvent } from './probe-event.type.js';
import { StartProbeInput } from './probe.input.js';
import type { ProbeService } from './probe.service.js';
import { FilterOrder, LayerProbe, NormalizationKind, Probe } from './probe.type.js';

type Data = SubscribeResolverData<
  unknown,
  { probeId?: string; afterSequence?: number | null; layer?: string | null },
  GraphQLContext
>;

@Resolver(() => Probe)
export class ProbeResolver {
  constructor(
    private readonly probes: ProbeService,
    private readonly runs: TrainingRunService,
  ) {}

  @Query(() => Probe, { nullable: true })
  probe(@Arg('id', () => ID) id: string): Promise<Probe | null> {
    return this.probes.findOne(decodeIntId(id, 'Probe', 'id'));
  }

  @FieldResolver(() => TrainingRun)
  run(@Root() probe: Probe): Promise<TrainingRun> {
    return mustExist(this.runs.findOne(probe.runKey), 'TrainingRun', probe.runKey);
  }

  @FieldResolver(() => [LayerProbe], { description: 'Probed layers, in network order.' })
  layers(@Root() probe: Probe): Promise<LayerProbe[]> {
    return this.probes.findLayers(probe);
  }

  @Mutation(() => Probe, {
    description:
      'Validates, stores the probe and queues it (CONFLICT unless the run SUCCEEDED); watch it with `probeProgress`. See docs/METHOD.md#phase-2-sr-per-layer.',
  })
  startProbe(
    @Arg('input', () => StartProbeInput) input: StartProbeInput,
    @Ctx() context: GraphQLContext,
  ): Promise<Probe> {
    return this.probes.start(input, context.principal.name);
  }

  @Mutation(() => Probe, {
    description:
      'A queued probe ends CANCELLED at once; a running one answers CANCELLING and stops at the end of the batch in progress (CANCELLED). Cancelling a CANCELLING probe answers it again; a finished one is a CONFLICT.',
  })
  cancelProbe(@Arg('id', () => ID) id: string): Promise<Probe> {
    return this.probes.cancel(decodeIntId(id, 'Probe', 'id'), id);
  }

  @Subscription(() => ProbeEvent, {
    description:
      "A probe's events: replays those after `afterSequence` (default: all), then live; completes when the probe ends, at once when it has ended and nothing is left to replay. NOT_FOUND for an unknown probe; an `afterSequence` past the last event is BAD_USER_INPUT naming the last sequence.",
    subscribe: ({ args, context }: Data) =>
      context.services.probes.progress(args.probeId as string, args.afterSequence),
  })
  probeProgress(
    @Root() event: StoredEvent<ProbeEvents>,
    @Arg('probeId', () => ID) probeId: string,
    @Arg('afterSequence', () => Int, { nullable: true }) _afterSequence?: number,
  ): ProbeEvent {
    return ProbeEvent.from(event, probeId);
  }

  @Subscription(() => FilterResult, {
    description:
      "A probe's filter results as they are stored (those already stored first), optionally of one layer; completes when the probe ends.",
    subscribe: ({ args, context }: Data) =>
      context.services.filters.stream(args.probeId as string, args.layer),
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
  constructor(
    private readonly probeService: ProbeService,
    private readonly filterService: FilterService,
    private readonly architectures: ArchitectureService,
  ) {}

  @FieldResolver(() => Layer)
  layer(@Root() layerProbe: LayerProbe): Promise<Layer> {
    return mustExist(
      this.architectures.findLayer(layerProbe.layerKey),
      'Layer',
      layerProbe.layerKey,
    );
  }

  @FieldResolver(() => Probe)
  probe(@Root() layerProbe: LayerProbe): Promise<Probe> {
    return mustExist(this.probeService.findOne(layerProbe.probeKey), 'Probe', layerProbe.probeKey);
  }

  @FieldResolver(() => FilterResultConnection, {
    description:
      'Filters sorted and filtered by the metrics stored for the default parameters; `threshold` and `normalization` only change the values returned. Every order but INDEX puts silent filters (scale < `minScale`) last. `minSnr` leaves out null SNRs; `label` is the preferred label; `clusterLabel` a label in any cluster.',
  })
  filters(
    @Root() layerProbe: LayerProbe,
    @Args() page: PageArgs,
    @Arg('orderBy', () => FilterOrder, { defaultValue: FilterOrder.INDEX }) orderBy: FilterOrder,
    @Arg('minSnr', () => Float, { nullable: true }) minSnr: number | null,
    @Arg('label', () => Int, { nullable: true, description: 'The preferred label (its index).' })
    label: number | null,
    @Arg('clusterLabel', () => String, {
      nullable: true,
      description:
        "Filters with a cluster that holds this label: its name as the dataset says it (any case, e.g. `Sandal`) or its index. Stored clusters (default threshold and normalization). BAD_USER_INPUT lists the dataset's names.",
    })
    clusterLabel: string | null,
    @Arg('silent', () => Boolean, {
      nullable: true,
      description:
        'true: only silent filters (scale < minScale); false: leave them out; absent: all, silent ones last in every order but INDEX.',
    })
    silent: boolean | null,
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
    return this.filterService.findMany(layerProbe, {
      ...page,
      orderBy,
      minSnr,
      label,
      clusterLabel,
      silent,
      threshold,
      normalization,
      minScale,
    });
  }
}

@Resolver(() => FilterResult)
export class FilterResultResolver {
  constructor(private readonly probes: ProbeService) {}

  @FieldResolver(() => LayerProbe)
  layer(@Root() filter: FilterResult): Promise<LayerProbe> {
    return mustExist(
      this.probes.findLayer(filter.layerProbeKey),
      'LayerProbe',
      filter.layerProbeKey,
    );
  }
}

@Resolver(() => TrainingRun)
export class ProbeRunResolver {
  constructor(private readonly service: ProbeService) {}

  @FieldResolver(() => [Probe], { description: 'Probes of this run, oldest first.' })
  probes(@Root() run: TrainingRun): Promise<Probe[]> {
    return this.service.findByRun(run.key);
  }
}

@Resolver(() => Layer)
export class ProbeLayerResolver {
  constructor(private readonly service: ProbeService) {}

  @FieldResolver(() => [LayerProbe], {
    description: "This layer's LayerProbe in each probe, oldest first.",
  })
  probes(@Root() layer: Layer): Promise<LayerProbe[]> {
    return this.service.findLayersOf(layer.key);
  }
}
