import { Field, Float, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { ImportRecord, InputSettings } from '../../contract/imports.js';

export enum RunOrigin {
  TRAINED = 'TRAINED',
  IMPORTED = 'IMPORTED',
}
registerEnumType(RunOrigin, {
  name: 'RunOrigin',
  description:
    'TRAINED: phase 1 ran here. IMPORTED: the network was trained elsewhere and uploaded (see `TrainingRun.imported`); such a run has no hyperparameters and no epochs of ours.',
});

export enum ModelFormat {
  ONNX = 'onnx',
  TFJS = 'tfjs',
}
registerEnumType(ModelFormat, {
  name: 'ModelFormat',
  description: 'ONNX, or the TensorFlow.js layers format (model.json + weight files).',
});

export enum PixelScale {
  UNIT = 'unit',
  BYTE = 'byte',
  SYMMETRIC = 'symmetric',
}
registerEnumType(PixelScale, {
  name: 'PixelScale',
  description: 'Pixels before mean and std: UNIT [0, 1], BYTE [0, 255], SYMMETRIC [-1, 1].',
});

export enum ChannelOrder {
  RGB = 'rgb',
  BGR = 'bgr',
}
registerEnumType(ChannelOrder, { name: 'ChannelOrder' });

@ObjectType({ description: 'What an imported network expects of its input pixels.' })
export class ImportInput {
  @Field(() => PixelScale) pixelScale!: PixelScale;
  @Field(() => [Float], { description: 'Per channel, in the network’s channel order.' })
  mean!: number[];
  @Field(() => [Float]) std!: number[];
  @Field(() => ChannelOrder) channelOrder!: ChannelOrder;

  static from(input: InputSettings): ImportInput {
    return Object.assign(new ImportInput(), {
      pixelScale: input.pixelScale as PixelScale,
      mean: [...input.mean],
      std: [...input.std],
      channelOrder: input.channelOrder as ChannelOrder,
    });
  }
}

@ObjectType({ description: 'Where an imported run’s network came from, and how it is read.' })
export class ImportInfo {
  @Field() fileName!: string;
  @Field(() => ModelFormat) format!: ModelFormat;
  @Field(() => Float, { description: 'Bytes uploaded (model file and weight files).' })
  sizeBytes!: number;
  @Field({ description: 'Hex SHA-256 of the model file (TensorFlow.js: of model.json).' })
  sha256!: string;
  @Field({
    description:
      'Where the input standardisation came from: SETTINGS (the upload), FILE (our export’s record) or DATASET (filterscope’s standardisation of the dataset).',
  })
  normalizationFrom!: string;
  @Field(() => ImportInput, { nullable: true, description: 'The settings given with the upload.' })
  input!: ImportInput | null;
  @Field(() => [Int], {
    nullable: true,
    description: 'For each dataset label, the network output that scores it.',
  })
  labelMapping!: number[] | null;
  @Field(() => [String], {
    description:
      'What the import changed without changing the outputs: a final Softmax dropped, a batch-norm epsilon folded into the variance, a ReLU moved before a max-pooling...',
  })
  notes!: string[];

  static from(record: ImportRecord): ImportInfo {
    return Object.assign(new ImportInfo(), {
      fileName: record.fileName,
      format: record.format as ModelFormat,
      sizeBytes: record.sizeBytes,
      sha256: record.sha256,
      normalizationFrom: record.normalizationFrom.toUpperCase(),
      input: record.input ? ImportInput.from(record.input) : null,
      labelMapping: record.labelMapping ? [...record.labelMapping] : null,
      notes: [...(record.notes ?? [])],
    });
  }
}
