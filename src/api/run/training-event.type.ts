import { Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { RunEvents, RunsEvents, StoredEvent } from '../../contract/events.js';
import { toGlobalId } from '../relay/global-id.js';
import { EpochMetric, RunStatus } from './training-run.type.js';

export enum TrainingEventType {
  STATUS = 'status',
  STEP = 'step',
  EPOCH = 'epoch',
  CHECKPOINT = 'checkpoint',
  EVALUATION = 'evaluation',
}
registerEnumType(TrainingEventType, { name: 'TrainingEventType' });

@ObjectType({ description: 'A training batch, at a bounded rate.' })
export class StepProgress {
  @Field(() => Int) epoch!: number;
  @Field(() => Int) batch!: number;
  @Field(() => Int) batches!: number;
  @Field(() => Float) loss!: number;
  @Field(() => Float, {
    nullable: true,
    description: "Training images a second since the previous step (null for an attempt's first).",
  })
  imagesPerSecond!: number | null;
}

@ObjectType({ description: "An imported network's evaluation: test batches done." })
export class EvaluationProgress {
  @Field(() => Int) batch!: number;
  @Field(() => Int) batches!: number;
}

@ObjectType({
  description: 'Something that happened to a run; `sequence` orders them per run, from 1.',
})
export class TrainingEvent {
  @Field(() => Int) sequence!: number;
  @Field(() => ID) runId!: string;
  @Field(() => TrainingEventType) type!: TrainingEventType;
  @Field({ description: 'ISO time the event was recorded.' }) at!: string;
  @Field(() => RunStatus, { nullable: true, description: 'STATUS: the new status.' })
  status!: RunStatus | null;
  @Field(() => EpochMetric, { nullable: true, description: 'EPOCH: its metrics.' })
  metrics!: EpochMetric | null;
  @Field(() => StepProgress, { nullable: true, description: 'STEP: the batch.' })
  step!: StepProgress | null;
  @Field(() => EvaluationProgress, {
    nullable: true,
    description: 'EVALUATION (imported runs): test batches done.',
  })
  evaluation!: EvaluationProgress | null;
  @Field(() => Int, {
    nullable: true,
    description: 'CHECKPOINT: epochs it holds; CANCELLED: epochs kept.',
  })
  epoch!: number | null;
  @Field(() => Int, { nullable: true, description: 'CHECKPOINT: bytes.' }) sizeBytes!:
    number | null;
  @Field(() => String, {
    nullable: true,
    description: 'FAILED (or QUEUED for a retry): the error.',
  })
  error!: string | null;
  @Field(() => String, { nullable: true, description: 'CANCELLING and CANCELLED: why.' })
  reason!: string | null;
  @Field(() => Int, {
    nullable: true,
    description:
      'CANCELLED by request while running: batches that finished after the cancel was committed (the one in progress then counts), 0 or 1 when the run stopped within a batch.',
  })
  batchesAfterCancel!: number | null;
  @Field(() => String, { nullable: true, description: 'RUNNING: the backend.' }) backend!:
    string | null;
  @Field(() => String, { nullable: true }) device!: string | null;
  @Field(() => Float, { nullable: true, description: 'SUCCEEDED: test SR after the last epoch.' })
  finalTestSR!: number | null;
  @Field(() => Float, { nullable: true }) bestTestSR!: number | null;
  @Field(() => [String], {
    nullable: true,
    description: 'SUCCEEDED (imported runs): what to check, e.g. an SR near chance.',
  })
  warnings!: string[] | null;

  /** The one mapping of a stored run event to its GraphQL form. */
  static from(event: StoredEvent<RunEvents>, runId: string): TrainingEvent {
    const base = Object.assign(new TrainingEvent(), {
      sequence: event.sequence,
      runId,
      type: event.type as TrainingEventType,
      at: event.at,
      status: null,
      metrics: null,
      step: null,
      evaluation: null,
      epoch: null,
      sizeBytes: null,
      error: null,
      reason: null,
      batchesAfterCancel: null,
      backend: null,
      device: null,
      finalTestSR: null,
      bestTestSR: null,
      warnings: null,
    });
    switch (event.type) {
      case 'status': {
        const p = event.payload;
        return Object.assign(base, {
          status: p.status as RunStatus,
          epoch: p.status === 'CANCELLED' ? (p.epoch ?? null) : null,
          error: p.error ?? null,
          reason: p.reason ?? null,
          batchesAfterCancel: p.batchesAfterCancel ?? null,
          backend: p.backend ?? null,
          device: p.device ?? null,
          finalTestSR: p.finalTestSR ?? null,
          bestTestSR: p.bestTestSR ?? null,
          warnings: p.warnings ? [...p.warnings] : null,
        });
      }
      case 'step':
        return Object.assign(base, {
          step: Object.assign(new StepProgress(), { imagesPerSecond: null }, event.payload),
        });
      case 'epoch': {
        const metrics = EpochMetric.fromRow(event.payload);
        return Object.assign(base, { metrics, epoch: metrics.epoch });
      }
      case 'checkpoint':
        return Object.assign(base, {
          epoch: event.payload.epoch,
          sizeBytes: event.payload.sizeBytes,
        });
      case 'evaluation':
        return Object.assign(base, {
          evaluation: Object.assign(new EvaluationProgress(), event.payload),
        });
    }
  }
}

@ObjectType({ description: 'A status change of any run.' })
export class RunUpdate {
  @Field(() => Int) sequence!: number;
  @Field({ description: 'ISO time.' }) at!: string;
  @Field(() => ID) runId!: string;
  @Field(() => RunStatus) status!: RunStatus;
  @Field(() => String, { nullable: true }) error!: string | null;

  /** The one mapping of a stored `runs` event to its GraphQL form. */
  static from(event: StoredEvent<RunsEvents>): RunUpdate {
    return Object.assign(new RunUpdate(), {
      sequence: event.sequence,
      at: event.at,
      runId: toGlobalId('TrainingRun', event.payload.runId),
      status: event.payload.status as RunStatus,
      error: event.payload.error ?? null,
    });
  }
}
