import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { storedProceduralOptions } from '../../data/procedural.js';
import type { RunMetricRow, TrainingRunRow } from '../../store/schema/index.js';
import { Connection } from '../relay/connection.js';
import { toGlobalId } from '../relay/global-id.js';
import { Node } from '../relay/node.type.js';

export enum RunStatus {
  QUEUED = 'QUEUED',
  RUNNING = 'RUNNING',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
  CANCELLED = 'CANCELLED',
}
registerEnumType(RunStatus, { name: 'RunStatus' });

export enum ScheduleKind {
  COSINE = 'cosine',
  STEP = 'step',
  CONSTANT = 'constant',
}
registerEnumType(ScheduleKind, {
  name: 'ScheduleKind',
  description: 'Learning-rate schedule, stepped once per epoch.',
});

export enum Augmentation {
  CROP_FLIP = 'cropFlip',
  NONE = 'none',
}
registerEnumType(Augmentation, {
  name: 'Augmentation',
  description: 'CROP_FLIP: random crop after 4-pixel padding + horizontal flip.',
});

@ObjectType()
export class Schedule {
  @Field(() => ScheduleKind)
  kind!: ScheduleKind;

  @Field(() => Int, { description: 'Linear warm-up epochs.' })
  warmupEpochs!: number;

  @Field(() => [Int], {
    description: 'STEP: 0-based epochs at which the rate is multiplied by `factor`.',
  })
  milestones!: number[];

  @Field(() => Float, { nullable: true, description: 'STEP: the multiplier.' })
  factor!: number | null;
}

@ObjectType({ description: 'Phase-1 hyperparameters as the run uses them (defaults filled in).' })
export class TrainingHyperparameters {
  @Field(() => Int) epochs!: number;
  @Field(() => Int) batchSize!: number;
  @Field(() => Float) learningRate!: number;
  @Field(() => Float) momentum!: number;
  @Field() nesterov!: boolean;
  @Field(() => Float) weightDecay!: number;
  @Field(() => Schedule) schedule!: Schedule;
  @Field(() => Augmentation) augmentation!: Augmentation;
  @Field(() => Float, { description: 'Unsigned 32-bit seed.' }) seed!: number;
  @Field(() => Int, {
    nullable: true,
    description: 'Training on the first N examples only; null = all.',
  })
  maxTrainExamples!: number | null;
  @Field(() => Int, {
    nullable: true,
    description: 'Test SR measured on the first N test examples only; null = all.',
  })
  maxTestExamples!: number | null;

  static from(value: Record<string, unknown>): TrainingHyperparameters {
    const schedule = (value.schedule ?? { kind: 'cosine' }) as Record<string, unknown>;
    return Object.assign(new TrainingHyperparameters(), value, {
      schedule: Object.assign(new Schedule(), {
        kind: schedule.kind,
        warmupEpochs: (schedule.warmupEpochs as number | undefined) ?? 0,
        milestones: (schedule.milestones as number[] | undefined) ?? [],
        factor: (schedule.factor as number | undefined) ?? (schedule.kind === 'step' ? 0.1 : null),
      }),
      maxTrainExamples: (value.maxTrainExamples as number | null | undefined) ?? null,
      maxTestExamples: (value.maxTestExamples as number | null | undefined) ?? null,
    });
  }
}

@ObjectType({ description: 'One finished epoch. SR = success rate (accuracy) in [0, 1].' })
export class EpochMetric {
  @Field(() => Int, { description: '1-based.' }) epoch!: number;
  @Field(() => Float) trainLoss!: number;
  @Field(() => Float) trainSR!: number;
  @Field(() => Float, { description: 'Inference mode: batch norm with running statistics.' })
  testLoss!: number;
  @Field(() => Float) testSR!: number;
  @Field(() => Float) learningRate!: number;
  @Field(() => Float) wallSeconds!: number;

  static fromRow(
    row: Omit<RunMetricRow, 'runId' | 'recordedAt'> | Record<string, unknown>,
  ): EpochMetric {
    return Object.assign(new EpochMetric(), row);
  }
}

@ObjectType({
  implements: Node,
  description: 'Phase 1: one training run of an architecture on a dataset.',
})
export class TrainingRun extends Node {
  key!: number;
  architectureKey!: number;

  @Field(() => RunStatus) status!: RunStatus;
  @Field({ description: 'Dataset name (see `datasets`).' }) dataset!: string;
  @Field(() => GraphQLJSONObject, {
    description:
      "Dataset options as given, e.g. the procedural dataset's sizes, with its `generatorVersion` (1 for a run stored before versions existed).",
  })
  datasetOptions!: Record<string, unknown>;
  @Field(() => TrainingHyperparameters) hyperparameters!: TrainingHyperparameters;
  @Field(() => Int, { description: 'Epochs completed (each with a checkpoint).' }) epoch!: number;
  @Field(() => Int) epochs!: number;
  @Field(() => Int, { description: 'Complete checkpoints kept in the database.' })
  keepCheckpoints!: number;
  @Field(() => String, {
    nullable: true,
    description: '`tensorflow-gpu`, `tensorflow`, `wasm` or `cpu`.',
  })
  backend!: string | null;
  @Field(() => String, { nullable: true }) device!: string | null;
  @Field(() => Int, { nullable: true }) threads!: number | null;
  @Field(() => Int, { nullable: true }) trainExamples!: number | null;
  @Field(() => Int, { nullable: true }) testExamples!: number | null;
  @Field(() => Float, { nullable: true, description: 'Best test SR over the epochs.' })
  bestTestSR!: number | null;
  @Field(() => Float, { nullable: true, description: 'Test SR after the last epoch.' })
  finalTestSR!: number | null;
  @Field(() => String, {
    nullable: true,
    description: 'Why it failed (or the last error before a retry).',
  })
  error!: string | null;
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true }) startedAt!: Date | null;
  @Field(() => Date, { nullable: true }) finishedAt!: Date | null;

  static fromRow(row: TrainingRunRow): TrainingRun {
    return Object.assign(new TrainingRun(), {
      id: toGlobalId('TrainingRun', row.id),
      key: row.id,
      architectureKey: row.architectureId,
      status: row.status as RunStatus,
      dataset: row.dataset,
      datasetOptions:
        row.dataset === 'procedural'
          ? { ...storedProceduralOptions(row.datasetOptions) }
          : row.datasetOptions,
      hyperparameters: TrainingHyperparameters.from(row.hyperparameters),
      epoch: row.epochsDone,
      epochs: row.epochs,
      keepCheckpoints: row.keepCheckpoints,
      backend: row.backend,
      device: row.device,
      threads: row.threads,
      trainExamples: row.trainExamples,
      testExamples: row.testExamples,
      bestTestSR: row.bestTestSR,
      finalTestSR: row.finalTestSR,
      error: row.error,
      createdAt: row.createdAt,
      startedAt: row.startedAt,
      finishedAt: row.finishedAt,
    });
  }
}

export const TrainingRunConnection = Connection('TrainingRun', TrainingRun);

export enum TrainingEventType {
  STATUS = 'status',
  STEP = 'step',
  EPOCH = 'epoch',
  CHECKPOINT = 'checkpoint',
}
registerEnumType(TrainingEventType, { name: 'TrainingEventType' });

@ObjectType({ description: 'A training batch, at a bounded rate.' })
export class StepProgress {
  @Field(() => Int) epoch!: number;
  @Field(() => Int) batch!: number;
  @Field(() => Int) batches!: number;
  @Field(() => Float) loss!: number;
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
  @Field(() => String, { nullable: true, description: 'CANCELLED: why.' }) reason!: string | null;
  @Field(() => String, { nullable: true, description: 'RUNNING: the backend.' }) backend!:
    string | null;
  @Field(() => String, { nullable: true }) device!: string | null;
  @Field(() => Float, { nullable: true, description: 'SUCCEEDED: test SR after the last epoch.' })
  finalTestSR!: number | null;
  @Field(() => Float, { nullable: true }) bestTestSR!: number | null;
}

@ObjectType({ description: 'A status change of any run.' })
export class RunUpdate {
  @Field(() => Int) sequence!: number;
  @Field({ description: 'ISO time.' }) at!: string;
  @Field(() => ID) runId!: string;
  @Field(() => RunStatus) status!: RunStatus;
  @Field(() => String, { nullable: true }) error!: string | null;
}
