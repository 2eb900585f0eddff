import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, Float, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { TrainHyperparameters } from '../../contract/hyperparameters.js';
import type { EpochMetrics } from '../../contract/protocol.js';
import { DEFAULT_STEP_FACTOR } from '../../contract/schedule.js';
import type { TrainingRunRow } from '../../store/schema/index.js';
import { storedProceduralOptions } from '../../data/procedural.js';
import { Connection } from '../relay/connection.js';
import { ImportInfo, RunOrigin } from './import.type.js';
import { toGlobalId } from '../relay/global-id.js';
import { Node } from '../relay/node.type.js';

export enum RunStatus {
  QUEUED = 'QUEUED',
  RUNNING = 'RUNNING',
  CANCELLING = 'CANCELLING',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
  CANCELLED = 'CANCELLED',
}
registerEnumType(RunStatus, {
  name: 'RunStatus',
  description: 'Of a run or a probe. SUCCEEDED, FAILED and CANCELLED are final.',
  valuesConfig: {
    CANCELLING: {
      description:
        'A cancel was committed while it ran; it stops at the end of the batch in progress and becomes CANCELLED.',
    },
  },
});

export enum ScheduleKind {
  COSINE = 'cosine',
  STEP = 'step',
  CONSTANT = 'constant',
}
registerEnumType(ScheduleKind, {
  name: 'ScheduleKind',
  description:
    'Learning-rate schedule, stepped once per epoch. See docs/METHOD.md#learning-rate-schedule.',
});

export enum Augmentation {
  CROP_FLIP = 'cropFlip',
  NONE = 'none',
}
registerEnumType(Augmentation, {
  name: 'Augmentation',
  description:
    'CROP_FLIP: random crop after zero padding (4 pixels at 32x32, the side / 8 at other sizes, at least 1) + horizontal flip. See docs/METHOD.md#inputs-and-augmentation.',
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

@ObjectType({
  description:
    'Phase-1 hyperparameters as the run uses them (defaults filled in). See docs/METHOD.md#hyperparameters.',
})
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

  static from(value: TrainHyperparameters): TrainingHyperparameters {
    const schedule = value.schedule;
    return Object.assign(new TrainingHyperparameters(), value, {
      schedule: Object.assign(new Schedule(), {
        kind: schedule.kind,
        warmupEpochs: schedule.warmupEpochs ?? 0,
        milestones: schedule.kind === 'step' ? [...schedule.milestones] : [],
        factor: schedule.kind === 'step' ? (schedule.factor ?? DEFAULT_STEP_FACTOR) : null,
      }),
      // Runs stored before these fields existed lack them.
      maxTrainExamples: value.maxTrainExamples ?? null,
      maxTestExamples: value.maxTestExamples ?? null,
    });
  }
}

@ObjectType({
  description:
    'One finished epoch. SR = success rate (accuracy) in [0, 1]. See docs/METHOD.md#what-a-run-records.',
})
export class EpochMetric {
  @Field(() => Int, { description: '1-based.' }) epoch!: number;
  @Field(() => Float) trainLoss!: number;
  @Field(() => Float) trainSR!: number;
  @Field(() => Float, { description: 'Inference mode: batch norm with running statistics.' })
  testLoss!: number;
  @Field(() => Float) testSR!: number;
  @Field(() => Float) learningRate!: number;
  @Field(() => Float) wallSeconds!: number;

  static fromRow(row: EpochMetrics): EpochMetric {
    return Object.assign(new EpochMetric(), {
      epoch: row.epoch,
      trainLoss: row.trainLoss,
      trainSR: row.trainSR,
      testLoss: row.testLoss,
      testSR: row.testSR,
      learningRate: row.learningRate,
      wallSeconds: row.wallSeconds,
    });
  }
}

@ObjectType({
  implements: Node,
  description:
    'A network on a dataset: trained here (phase 1), or imported from a file (`origin` IMPORTED: no hyperparameters, no epochs). Probes, exports and the dashboard take either. See docs/METHOD.md#phase-1-train.',
})
export class TrainingRun extends Node {
  key!: number;
  architectureKey!: number;

  @Field(() => RunStatus) status!: RunStatus;
  @Field({ description: "A researcher's title; empty when none was given (`updateRun` sets it)." })
  name!: string;
  @Field(() => [String], { description: 'Labels to find it by (`runs(filter: {tag})`).' })
  tags!: string[];
  @Field({ description: 'Free text; empty when none.' }) notes!: string;
  @Field({ description: 'Dataset name (see `datasets`).' }) dataset!: string;
  @Field(() => GraphQLJSONObject, {
    description:
      "Dataset options as given, e.g. the procedural dataset's sizes, with its `generatorVersion` (1 for a run stored before versions existed).",
  })
  datasetOptions!: Record<string, unknown>;
  @Field(() => RunOrigin) origin!: RunOrigin;
  @Field(() => ImportInfo, { nullable: true, description: 'IMPORTED: the file and settings.' })
  imported!: ImportInfo | null;
  @Field(() => TrainingHyperparameters, {
    nullable: true,
    description: 'Phase 1 as this run trains; null for an imported run.',
  })
  hyperparameters!: TrainingHyperparameters | null;
  @Field(() => Int, {
    description: 'Epochs completed (each with a checkpoint); 0 for an imported run.',
  })
  epoch!: number;
  @Field(() => Int, { nullable: true, description: 'Epochs to train; null for an imported run.' })
  epochs!: number | null;
  @Field(() => Int, { description: 'Complete checkpoints kept in the database.' })
  keepCheckpoints!: number;
  @Field(() => String, {
    nullable: true,
    description: '`tensorflow-gpu`, `webgpu`, `tensorflow`, `wasm` or `cpu`.',
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
  @Field(() => [String], {
    description:
      'What to check: an imported network whose test SR is near chance says what the likely cause is.',
  })
  warnings!: string[];
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true }) startedAt!: Date | null;
  @Field(() => Date, { nullable: true }) finishedAt!: Date | null;
  @Field(() => Float, {
    nullable: true,
    description:
      'Seconds from start to finish; while it runs, to now; null before it starts. A run that was retried counts from its first start.',
  })
  get durationSeconds(): number | null {
    if (!this.startedAt) return null;
    const end = this.finishedAt ?? new Date();
    return Math.max(0, (end.getTime() - this.startedAt.getTime()) / 1000);
  }

  static fromRow(row: TrainingRunRow): TrainingRun {
    return Object.assign(new TrainingRun(), {
      id: toGlobalId('TrainingRun', row.id),
      key: row.id,
      architectureKey: row.architectureId,
      status: row.status as RunStatus,
      name: row.name,
      tags: [...row.tags],
      notes: row.notes,
      dataset: row.dataset,
      datasetOptions:
        row.dataset === 'procedural'
          ? { ...storedProceduralOptions(row.datasetOptions) }
          : row.datasetOptions,
      origin: row.origin as RunOrigin,
      imported: row.imported ? ImportInfo.from(row.imported) : null,
      hyperparameters: row.hyperparameters
        ? TrainingHyperparameters.from(row.hyperparameters)
        : null,
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
      warnings: [...row.warnings],
      createdAt: row.createdAt,
      startedAt: row.startedAt,
      finishedAt: row.finishedAt,
    });
  }
}

export const TrainingRunConnection = Connection('TrainingRun', TrainingRun);
