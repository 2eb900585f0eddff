import type { DatasetOptions } from './datasets.js';
import {
  arrayOf,
  ContractIssue,
  integer,
  isObject,
  nullable,
  number,
  object,
  oneOf,
  string,
  type Check,
} from './checks.js';

/**
 * Networks trained elsewhere: what a user says about a file when importing it, and what a run
 * records of where its network came from. Validated once where an upload enters (the API).
 */

export const MODEL_FORMATS = ['onnx', 'tfjs'] as const;
export type ModelFormat = (typeof MODEL_FORMATS)[number];

/** How the network expects its input pixels: [0, 1], [0, 255] or [-1, 1] before mean and std. */
export const PIXEL_SCALES = ['unit', 'byte', 'symmetric'] as const;
export type PixelScale = (typeof PIXEL_SCALES)[number];

export const CHANNEL_ORDERS = ['rgb', 'bgr'] as const;
export type ChannelOrder = (typeof CHANNEL_ORDERS)[number];

/**
 * What the network expects of its input: pixels scaled to `pixelScale`, then per channel
 * `(x - mean) / std`, channels in `channelOrder`. Absent: the file's own record (our exports
 * carry it), else filterscope's standardisation of the dataset (the training split's mean and
 * std of pixels in [0, 1]).
 */
export interface InputSettings {
  readonly pixelScale: PixelScale;
  readonly mean: readonly number[];
  readonly std: readonly number[];
  readonly channelOrder: ChannelOrder;
}

/** Everything a user says when importing a file, as the API takes it. */
export interface ImportRequest {
  /** The new architecture's name (unique). */
  readonly name: string;
  /** The dataset the network classifies (a name from `datasets`). */
  readonly dataset: string;
  readonly datasetOptions?: DatasetOptions | null;
  readonly input?: InputSettings | null;
  /**
   * For each of the dataset's labels, the network output that scores it: reorders (and, for a
   * network with more outputs than the dataset has labels, selects) the classifier's outputs.
   * Absent: output i is label i, and the counts must match.
   */
  readonly labelMapping?: readonly number[] | null;
  /** Test SR on the first N test examples only (null: all). */
  readonly maxTestExamples?: number | null;
}

/** What an imported run records of its file and of the user's settings. */
export interface ImportRecord {
  readonly fileName: string;
  readonly format: ModelFormat;
  readonly sizeBytes: number;
  /** Hex SHA-256 of the model file (for the TensorFlow.js format: of model.json). */
  readonly sha256: string;
  /** Where the input standardisation came from. */
  readonly normalizationFrom: 'settings' | 'file' | 'dataset';
  readonly input: InputSettings | null;
  readonly labelMapping: readonly number[] | null;
  /** The evaluation's test cap (null: every test example). */
  readonly maxTestExamples: number | null;
  /** What the import changed without changing the logits (a final Softmax dropped...). */
  readonly notes?: readonly string[];
}

/** What `input` means where it leaves a field out: pixels in [0, 1], channels in RGB order. */
export const INPUT_DEFAULTS = { pixelScale: 'unit', channelOrder: 'rgb' } as const;

const inputSettings: Check = (v, path) => {
  object(
    {
      pixelScale: oneOf(PIXEL_SCALES),
      mean: arrayOf(number(), 1),
      std: arrayOf(number(0, Infinity, { above: true }), 1),
      channelOrder: oneOf(CHANNEL_ORDERS),
    },
    ['pixelScale', 'channelOrder'],
  )(v, path);
  const s = v as InputSettings;
  if (s.mean.length !== s.std.length)
    throw new ContractIssue(
      `${path}.std`,
      s.std,
      `must have one value per channel, like mean (${s.mean.length})`,
    );
};

/**
 * Checks an import request (the shape the API and the CLI send) and drops absent fields. Throws
 * `ContractIssue` with the field's path. The dataset's existence and the network's fit to it
 * are checked by the caller, which knows the catalog and the file.
 */
export function checkImportRequest(value: unknown): ImportRequest {
  if (!isObject(value)) throw new ContractIssue('', value, 'must be an object');
  const given = Object.fromEntries(
    Object.entries(value).filter(([, v]) => v !== undefined && v !== null),
  );
  object(
    {
      name: string,
      dataset: string,
      datasetOptions: (v, path) => {
        if (!isObject(v)) throw new ContractIssue(path, v, 'must be an object');
      },
      input: inputSettings,
      labelMapping: nullable(arrayOf(integer(0, 1_000_000), 1)),
      maxTestExamples: integer(1),
    },
    ['datasetOptions', 'input', 'labelMapping', 'maxTestExamples'],
  )(given, '');
  const mapping = given.labelMapping as number[] | undefined;
  mapping?.forEach((output, i) => {
    if (mapping.indexOf(output) !== i)
      throw new ContractIssue(`labelMapping[${i}]`, output, 'is mapped twice');
  });
  if (given.input) given.input = { ...INPUT_DEFAULTS, ...(given.input as object) };
  return given as unknown as ImportRequest;
}
