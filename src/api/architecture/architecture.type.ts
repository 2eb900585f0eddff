import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, Float, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { ArchitectureRow, LayerRow } from '../../store/schema/index.js';
import { Node } from '../relay/node.type.js';
import { Connection } from '../relay/connection.js';
import { toGlobalId } from '../relay/global-id.js';

export enum LayerKind {
  CONV = 'conv',
  MAX_POOL = 'maxPool',
  AVG_POOL = 'avgPool',
  GLOBAL_AVG_POOL = 'globalAvgPool',
  DROPOUT = 'dropout',
  FLATTEN = 'flatten',
  DENSE = 'dense',
}
registerEnumType(LayerKind, {
  name: 'LayerKind',
  description: 'What a layer (or an input block) does.',
});

@ObjectType({
  implements: Node,
  description: 'One layer of an architecture, with its shapes and counts.',
})
export class Layer extends Node {
  /** Database key, for field resolvers; not exposed. */
  key!: number;
  architectureKey!: number;

  @Field(() => Int, { description: 'Position in the layer list, from 0.' })
  index!: number;

  @Field({
    description: '`conv1`, `maxPool1`, `dense1`, ..., and `classifier` for the output layer.',
  })
  name!: string;

  @Field(() => LayerKind)
  kind!: LayerKind;

  @Field(() => Int, { nullable: true, description: 'Conv filters or dense units.' })
  filters!: number | null;

  @Field(() => Int, {
    nullable: true,
    description: 'Conv kernel side or pooling window side, pixels.',
  })
  kernelSize!: number | null;

  @Field(() => [Int])
  inputShape!: number[];

  @Field(() => [Int], { description: '[height, width, channels] or [features].' })
  outputShape!: number[];

  @Field(() => Float, {
    description: "Stored values: kernel, bias, and batch norm's 4 per channel.",
  })
  parameterCount!: number;

  @Field(() => Float, { description: 'Forward FLOPs per image (2 per multiply-add).' })
  flops!: number;

  static fromRow(row: LayerRow): Layer {
    return Object.assign(new Layer(), {
      id: toGlobalId('Layer', row.id),
      key: row.id,
      architectureKey: row.architectureId,
      index: row.index,
      name: row.name,
      kind: row.kind as LayerKind,
      filters: row.filters,
      kernelSize: row.kernelSize,
      inputShape: row.inputShape,
      outputShape: row.outputShape,
      parameterCount: row.parameterCount,
      flops: row.flops,
    });
  }
}

@ObjectType({
  implements: Node,
  description: 'A CNN: an input shape, labels and an ordered list of blocks.',
})
export class Architecture extends Node {
  key!: number;

  @Field()
  name!: string;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field({
    description: 'True for the presets (docs/METHOD.md#architectures), stored at first start.',
  })
  preset!: boolean;

  @Field(() => [Int], { description: '[height, width, channels].' })
  inputShape!: number[];

  @Field(() => Int, { description: 'Number of labels of the classifier.' })
  labels!: number;

  @Field(() => Float, { description: 'Total stored values of every layer.' })
  parameterCount!: number;

  @Field(() => Float, { description: 'Forward FLOPs per image (2 per multiply-add).' })
  flops!: number;

  @Field(() => GraphQLJSONObject, {
    description: 'The plain-JSON spec, as stored and sent to workers.',
  })
  spec!: Record<string, unknown>;

  @Field()
  createdAt!: Date;

  static fromRow(row: ArchitectureRow): Architecture {
    return Object.assign(new Architecture(), {
      id: toGlobalId('Architecture', row.id),
      key: row.id,
      name: row.name,
      description: row.description,
      preset: row.preset,
      inputShape: row.inputShape,
      labels: row.labels,
      parameterCount: row.parameterCount,
      flops: row.flops,
      spec: row.spec as unknown as Record<string, unknown>,
      createdAt: row.createdAt,
    });
  }
}

export const ArchitectureConnection = Connection('Architecture', Architecture);
