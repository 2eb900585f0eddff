import { Field, Float, InputType, Int, registerEnumType } from 'type-graphql';
import { LayerKind } from './architecture.type.js';

export enum Padding {
  SAME = 'same',
  VALID = 'valid',
}
registerEnumType(Padding, { name: 'Padding' });

export enum Activation {
  RELU = 'relu',
  LINEAR = 'linear',
}
registerEnumType(Activation, { name: 'Activation' });

@InputType({
  description:
    "Zeros added around a conv's input, pixels per side (ONNX's `pads`; PyTorch's `padding=1` at stride 2 is 1 on every side, which is not SAME).",
})
export class ExplicitPaddingInput {
  @Field(() => Int) top!: number;
  @Field(() => Int) bottom!: number;
  @Field(() => Int) left!: number;
  @Field(() => Int) right!: number;
}

@InputType({ description: 'One block; set only the fields of its kind (others are refused).' })
export class BlockInput {
  @Field(() => LayerKind)
  kind!: LayerKind;

  @Field(() => Int, { nullable: true, description: 'conv: number of filters.' })
  filters?: number;

  @Field(() => Int, { nullable: true, description: 'conv: kernel side (default 3).' })
  kernelSize?: number;

  @Field(() => Int, { nullable: true, description: 'conv (default 1), pools (default poolSize).' })
  stride?: number;

  @Field(() => Padding, { nullable: true, description: 'conv: default SAME.' })
  padding?: Padding;

  @Field(() => ExplicitPaddingInput, {
    nullable: true,
    description: 'conv: zeros per side instead of `padding` (give one of the two).',
  })
  explicitPadding?: ExplicitPaddingInput;

  @Field({
    nullable: true,
    description:
      "conv: a bias added by the convolution (default: only without batch norm, whose beta makes it redundant; torchvision's vgg*_bn have both).",
  })
  bias?: boolean;

  @Field({ nullable: true, description: 'conv: batch norm after the convolution (default true).' })
  batchNorm?: boolean;

  @Field(() => Activation, { nullable: true, description: 'conv and dense: default RELU.' })
  activation?: Activation;

  @Field(() => Int, { nullable: true, description: 'maxPool, avgPool: window side (default 2).' })
  poolSize?: number;

  @Field(() => Float, { nullable: true, description: 'dropout: fraction dropped, in [0, 1).' })
  rate?: number;

  @Field(() => Int, { nullable: true, description: 'dense: units.' })
  units?: number;
}

@InputType({
  description: 'A new architecture. A classifier (dense to `labels`) is appended to the blocks.',
})
export class CreateArchitectureInput {
  @Field({ description: 'Unique name.' })
  name!: string;

  @Field(() => String, { nullable: true })
  description?: string;

  @Field(() => [Int], { description: '[height, width, channels].' })
  inputShape!: number[];

  @Field(() => Int)
  labels!: number;

  @Field(() => [BlockInput])
  blocks!: BlockInput[];
}
