import { Field, Float, ID, InputType, Int } from 'type-graphql';

@InputType({
  description:
    'Phases 2 and 3 on a SUCCEEDED run; each left out takes its default. See docs/METHOD.md#head.',
})
export class StartProbeInput {
  @Field(() => ID, { description: 'A SUCCEEDED training run.' })
  runId!: string;

  @Field(() => [String], {
    nullable: true,
    description:
      'Conv layer names (`conv1`, ...); default every conv layer. Probed in network order.',
  })
  layers?: string[];

  @Field(() => Int, { nullable: true, description: 'Head training epochs, 1-1000 (default 10).' })
  headEpochs?: number;

  @Field(() => Float, {
    nullable: true,
    description: 'Peak head rate in (0, 10], cosine-decayed per epoch (default 0.01).',
  })
  learningRate?: number;

  @Field(() => Float, { nullable: true, description: 'SGD momentum in [0, 1) (default 0.9).' })
  momentum?: number;

  @Field(() => Float, { nullable: true, description: 'In [0, 1] (default 5e-4).' })
  weightDecay?: number;

  @Field(() => Int, { nullable: true, description: '1-8192 (default 128).' })
  batchSize?: number;

  @Field({
    nullable: true,
    description:
      'Read each layer after the pooling blocks right after it (default true). See docs/METHOD.md#probe-point.',
  })
  afterPooling?: boolean;

  @Field(() => Int, {
    nullable: true,
    description:
      'Largest flattened probe point, 1-16777216; extra 2x2 max-pooling until it fits (default 32768). See docs/METHOD.md#probe-point.',
  })
  maxFeatures?: number;

  @Field(() => Int, {
    nullable: true,
    description: 'First N training examples only (default all).',
  })
  maxTrainExamples?: number;

  @Field(() => Int, { nullable: true, description: 'First N test examples only (default all).' })
  maxTestExamples?: number;

  @Field(() => Float, { nullable: true, description: 'Unsigned 32-bit integer (default 0).' })
  seed?: number;

  @Field(() => Int, {
    nullable: true,
    description:
      'Heads per layer trained from different seeds on the same features, 1-20 (default 3): SR(l) and the aggregates are their mean, with the spread in `LayerProbe.replicates`; filters and AFCC are the first replicate. See docs/METHOD.md#replicates.',
  })
  replicates?: number;
}
