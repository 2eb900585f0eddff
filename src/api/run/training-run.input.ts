import { Field, Float, ID, InputType, Int } from 'type-graphql';
import { RunOrigin } from './import.type.js';
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

  @Field(() => String, {
    nullable: true,
    description: 'A title, at most 120 characters, one line.',
  })
  name?: string;

  @Field(() => [String], {
    nullable: true,
    description:
      'At most 20 tags, each 1-40 letters, digits and _ . : / = + - (starting with a letter or digit); duplicates dropped.',
  })
  tags?: string[];

  @Field(() => String, { nullable: true, description: 'Free text, at most 10000 characters.' })
  notes?: string;
}

@InputType({
  description:
    "A run's name, tags and notes; each field left out stays as it is (`tags` replaces the list). Same rules as in `startTraining`.",
})
export class UpdateRunInput {
  @Field(() => String, { nullable: true }) name?: string;
  @Field(() => [String], { nullable: true }) tags?: string[];
  @Field(() => String, { nullable: true }) notes?: string;
}

@InputType()
export class RunFilter {
  @Field(() => RunStatus, { nullable: true })
  status?: RunStatus;

  @Field(() => ID, { nullable: true })
  architectureId?: string;

  @Field(() => String, { nullable: true, description: 'Architecture name, exactly.' })
  architecture?: string;

  @Field(() => String, { nullable: true, description: 'Dataset name, exactly.' })
  dataset?: string;

  @Field(() => RunOrigin, { nullable: true })
  origin?: RunOrigin;

  @Field(() => String, { nullable: true, description: 'Runs carrying this tag (exactly).' })
  tag?: string;

  @Field(() => String, {
    nullable: true,
    description: 'Runs whose name contains this text, ignoring case.',
  })
  name?: string;

  @Field(() => String, {
    nullable: true,
    description:
      'Runs whose name, a tag, the architecture name or the dataset contains this text, ignoring case; or whose id or number is this text.',
  })
  search?: string;
}
