import { Field, Float, ID, InputType, Int } from 'type-graphql';
import { Augmentation, RunStatus, ScheduleKind } from './training-run.type.js';

@InputType()
export class ScheduleInput {
  @Field(() => ScheduleKind)
  kind!: ScheduleKind;

  @Field(() => Int, { nullable: true, description: 'Linear warm-up epochs (default 0).' })
  warmupEpochs?: number;

  @Field(() => [Int], {
    nullable: true,
    description: 'STEP: 0-based epochs, increasing, each in [1, epochs).',
  })
  milestones?: number[];

  @Field(() => Float, { nullable: true, description: 'STEP: multiplier in (0, 1] (default 0.1).' })
  factor?: number;
}

@InputType({
  description:
    'Phase-1 hyperparameters; each left out takes its default. See docs/METHOD.md#hyperparameters.',
})
export class HyperparametersInput {
  @Field(() => Int, { nullable: true, description: 'Default 30.' }) epochs?: number;
  @Field(() => Int, { nullable: true, description: 'Default 128.' }) batchSize?: number;
  @Field(() => Float, { nullable: true, description: 'Peak rate; default 0.05.' })
  learningRate?: number;
  @Field(() => Float, { nullable: true, description: 'Default 0.9.' }) momentum?: number;
  @Field({ nullable: true, description: 'Default false.' }) nesterov?: boolean;
  @Field(() => Float, {
    nullable: true,
    description: 'Added as lambda * w to every gradient; default 5e-4.',
  })
  weightDecay?: number;
  @Field(() => ScheduleInput, { nullable: true, description: 'Default COSINE.' })
  schedule?: ScheduleInput;
  @Field(() => Augmentation, {
    nullable: true,
    description: 'Default: CROP_FLIP for colour datasets, NONE for grey.',
  })
  augmentation?: Augmentation;
  @Field(() => Float, { nullable: true, description: 'Unsigned 32-bit integer; default 1.' })
  seed?: number;
  @Field(() => Int, {
    nullable: true,
    description: 'Train on the first N examples only (default: all).',
  })
  maxTrainExamples?: number;
  @Field(() => Int, {
    nullable: true,
    description: 'Measure test SR on the first N test examples only (default: all).',
  })
  maxTestExamples?: number;
}

@InputType({
  description:
    'Options of the procedural dataset (ignored fields keep their defaults). See docs/METHOD.md#procedural-dataset.',
})
export class DatasetOptionsInput {
  @Field(() => Int, { nullable: true, description: 'Side in pixels, 8-256 (default 32).' })
  imageSize?: number;
  @Field(() => Int, { nullable: true, description: '1 or 3 (default 3).' }) channels?: number;
  @Field(() => Int, { nullable: true, description: '3-100 (default 10).' }) labels?: number;
  @Field(() => Int, { nullable: true, description: 'Default 10000.' }) trainSize?: number;
  @Field(() => Int, { nullable: true, description: 'Default 2000.' }) testSize?: number;
  @Field(() => Float, { nullable: true, description: 'Default 1.' }) seed?: number;
  @Field(() => Int, {
    nullable: true,
    description:
      'Which generator draws the images, 1-2 (default: the latest, 2). The run stores it; version 1 reproduces the data of runs made before versions existed.',
  })
  generatorVersion?: number;
}

@InputType()
export class StartTrainingInput {
  @Field(() => ID)
  architectureId!: string;

  @Field({ description: 'A dataset name from `datasets` that is available.' })
  dataset!: string;

  @Field(() => DatasetOptionsInput, { nullable: true, description: 'Only for `procedural`.' })
  datasetOptions?: DatasetOptionsInput;

  @Field(() => HyperparametersInput, { nullable: true })
  hyperparameters?: HyperparametersInput;

  @Field(() => Int, { nullable: true, description: 'Complete checkpoints kept, 1-20 (default 2).' })
  keepCheckpoints?: number;

  @Field(() => Int, {
    nullable: true,
    description: 'Attempts before the run fails, 1-10 (default 3).',
  })
  maxAttempts?: number;
}

@InputType()
export class RunFilter {
  @Field(() => RunStatus, { nullable: true })
  status?: RunStatus;

  @Field(() => ID, { nullable: true })
  architectureId?: string;
}
