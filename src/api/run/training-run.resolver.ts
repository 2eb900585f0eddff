import {
  Arg,
  Ctx,
  Args,
  FieldResolver,
  ID,
  Int,
  Mutation,
  Query,
  Resolver,
  Root,
  Subscription,
} from 'type-graphql';
import type { StoredEvent } from '../../events/bus.js';
import type { SubscribeResolverData } from 'type-graphql';
import { Architecture } from '../architecture/architecture.type.js';
import type { ArchitectureService } from '../architecture/architecture.service.js';
import { notFound } from '../errors.js';
import { PageArgs, toPage, type ConnectionShape } from '../relay/connection.js';
import { decodeIntId, toGlobalId } from '../relay/global-id.js';
import type { GraphQLContext } from '../schema.js';
import { RunFilter, StartTrainingInput } from './training-run.input.js';
import type { TrainingRunService } from './training-run.service.js';
import {
  EpochMetric,
  RunStatus,
  RunUpdate,
  TrainingEvent,
  TrainingEventType,
  TrainingRun,
  TrainingRunConnection,
} from './training-run.type.js';

const numberOrNull = (value: unknown): number | null => (typeof value === 'number' ? value : null);

type Data = SubscribeResolverData<
  unknown,
  { runId?: string; afterSequence?: number | null },
  GraphQLContext
>;

@Resolver(() => TrainingRun)
export class TrainingRunResolver {
  constructor(
    private readonly service: TrainingRunService,
    private readonly architectures: ArchitectureService,
  ) {}

  @Query(() => TrainingRun, { nullable: true })
  run(@Arg('id', () => ID) id: string): Promise<TrainingRun | null> {
    return this.service.findOne(decodeIntId(id, 'TrainingRun', 'id'));
  }

  @Query(() => Int, {
    description:
      'The sequence of the latest `runUpdated` event. Read it before `runs`, then subscribe to `runUpdated(afterSequence:)` with it: no change is missed between the list and the stream.',
  })
  runUpdatesSequence(): Promise<number> {
    return this.service.updatesSequence();
  }

  @Query(() => TrainingRunConnection, { description: 'Runs, newest first.' })
  runs(
    @Args() page: PageArgs,
    @Arg('filter', () => RunFilter, { nullable: true }) filter?: RunFilter,
  ): Promise<ConnectionShape<TrainingRun>> {
    return this.service.findMany(toPage(page), {
      status: filter?.status,
      architectureKey: filter?.architectureId
        ? decodeIntId(filter.architectureId, 'Architecture', 'filter.architectureId')
        : undefined,
    });
  }

  @FieldResolver(() => Architecture)
  async architecture(@Root() run: TrainingRun): Promise<Architecture> {
    return (
      (await this.architectures.findOne(run.architectureKey)) ??
      Promise.reject(notFound('Architecture', String(run.architectureKey)))
    );
  }

  @FieldResolver(() => [EpochMetric], {
    description:
      'Per-epoch rows; with `downsample: N`, at most N keeping the first, the last and each extreme.',
  })
  metrics(
    @Root() run: TrainingRun,
    @Arg('downsample', () => Int, { nullable: true }) downsample?: number,
  ): Promise<EpochMetric[]> {
    return this.service.metrics(run.key, downsample);
  }

  @Mutation(() => TrainingRun, {
    description: 'Validates, stores the run and queues it; watch it with `trainingProgress`.',
  })
  startTraining(
    @Arg('input', () => StartTrainingInput) input: StartTrainingInput,
    @Ctx() context: GraphQLContext,
  ): Promise<TrainingRun> {
    return this.service.start(input, context.principal.name);
  }

  @Mutation(() => TrainingRun, {
    description:
      'A queued run ends CANCELLED at once; a running one answers CANCELLING and stops at the end of the batch in progress (CANCELLED), keeping the checkpoint of its last completed epoch. Cancelling a CANCELLING run answers it again; a finished one is a CONFLICT.',
  })
  cancelRun(@Arg('id', () => ID) id: string): Promise<TrainingRun> {
    return this.service.cancel(decodeIntId(id, 'TrainingRun', 'id'), id);
  }

  @Subscription(() => TrainingEvent, {
    description:
      "A run's events: replays those after `afterSequence` (default: all), then live; completes when the run ends, at once when it has ended and nothing is left to replay. NOT_FOUND for an unknown run; an `afterSequence` past the last event is BAD_USER_INPUT naming the last sequence.",
    subscribe: ({ args, context }: Data) =>
      context.services.runs.progress(args.runId as string, args.afterSequence),
  })
  trainingProgress(
    @Root() event: StoredEvent,
    @Arg('runId', () => ID) runId: string,
    @Arg('afterSequence', () => Int, { nullable: true }) _afterSequence?: number,
  ): TrainingEvent {
    const p = event.payload;
    const metrics = event.type === 'epoch' ? EpochMetric.fromRow(p) : null;
    return Object.assign(new TrainingEvent(), {
      sequence: event.sequence,
      runId,
      type: event.type as TrainingEventType,
      at: event.at,
      status: (p.status as RunStatus | undefined) ?? null,
      metrics,
      step: event.type === 'step' ? p : null,
      epoch:
        event.type === 'checkpoint' || p.status === 'CANCELLED'
          ? ((p.epoch as number | undefined) ?? null)
          : metrics
            ? metrics.epoch
            : null,
      sizeBytes: (p.sizeBytes as number | undefined) ?? null,
      error: (p.error as string | undefined) ?? null,
      reason: (p.reason as string | undefined) ?? null,
      batchesAfterCancel: numberOrNull(p.batchesAfterCancel),
      backend: (p.backend as string | undefined) ?? null,
      device: (p.device as string | undefined) ?? null,
      finalTestSR: (p.finalTestSR as number | undefined) ?? null,
      bestTestSR: (p.bestTestSR as number | undefined) ?? null,
    });
  }

  @Subscription(() => RunUpdate, {
    description:
      'Status changes of every run after `afterSequence` (default: from now on); one past the last event (`runUpdatesSequence`) is BAD_USER_INPUT.',
    subscribe: ({ args, context }: Data) => context.services.runs.updates(args.afterSequence),
  })
  runUpdated(
    @Root() event: StoredEvent,
    @Arg('afterSequence', () => Int, { nullable: true }) _afterSequence?: number,
  ): RunUpdate {
    return Object.assign(new RunUpdate(), {
      sequence: event.sequence,
      at: event.at,
      runId: toGlobalId('TrainingRun', event.payload.runId as number),
      status: event.payload.status as RunStatus,
      error: (event.payload.error as string | undefined) ?? null,
    });
  }
}
