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
import type { RunEvents, RunsEvents, StoredEvent } from '../../contract/events.js';
import type { SubscribeResolverData } from 'type-graphql';
import { Architecture } from '../architecture/architecture.type.js';
import type { ArchitectureService } from '../architecture/architecture.service.js';
import { PageArgs, toPage, type ConnectionShape } from '../relay/connection.js';
import { decodeIntId } from '../relay/global-id.js';
import type { GraphQLContext } from '../context.js';
import { mustExist } from '../lookup.js';
import { runQuery } from './run-query.js';
import { RunStep } from './run-step.type.js';
import { RunFilter, StartTrainingInput, UpdateRunInput } from './training-run.input.js';
import type { TrainingRunService } from './training-run.service.js';
import { RunUpdate, TrainingEvent } from './training-event.type.js';
import { EpochMetric, TrainingRun, TrainingRunConnection } from './training-run.type.js';

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
    return this.service.findMany(toPage(page), runQuery(filter));
  }

  @FieldResolver(() => Architecture)
  architecture(@Root() run: TrainingRun): Promise<Architecture> {
    return mustExist(
      this.architectures.findOne(run.architectureKey),
      'Architecture',
      run.architectureKey,
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

  @FieldResolver(() => [RunStep], {
    description:
      'Stored training batches in order (at most one a second, and the last of each epoch); with `downsample: N`, at most N keeping the first, the last and each extreme loss.',
  })
  steps(
    @Root() run: TrainingRun,
    @Arg('downsample', () => Int, { nullable: true }) downsample?: number,
  ): Promise<RunStep[]> {
    return this.service.steps(run.key, downsample);
  }

  @Mutation(() => TrainingRun, {
    description:
      "Sets a run's name, tags and notes (write key); fields left out stay. BAD_USER_INPUT names the field; NOT_FOUND for an unknown run.",
  })
  updateRun(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateRunInput) input: UpdateRunInput,
  ): Promise<TrainingRun> {
    return this.service.update(id, input);
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
    @Root() event: StoredEvent<RunEvents>,
    @Arg('runId', () => ID) runId: string,
    @Arg('afterSequence', () => Int, { nullable: true }) _afterSequence?: number,
  ): TrainingEvent {
    return TrainingEvent.from(event, runId);
  }

  @Subscription(() => RunUpdate, {
    description:
      'Status changes of every run after `afterSequence` (default: from now on); one past the last event (`runUpdatesSequence`) is BAD_USER_INPUT.',
    subscribe: ({ args, context }: Data) => context.services.runs.updates(args.afterSequence),
  })
  runUpdated(
    @Root() event: StoredEvent<RunsEvents>,
    @Arg('afterSequence', () => Int, { nullable: true }) _afterSequence?: number,
  ): RunUpdate {
    return RunUpdate.from(event);
  }
}
