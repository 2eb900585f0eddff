/**
 * Why a file cannot be imported. Codes are stable (the API passes them on to clients); messages
 * say what was found and, where it helps, what would work instead.
 */

export const IMPORT_ERROR_CODES = {
  /** The file has no bytes (or model.json is empty). */
  EMPTY: 'the file is empty',
  /** Not an ONNX ModelProto, or not a TensorFlow.js model.json. */
  NOT_A_MODEL: 'the file is not a model of the format named',
  /** An ONNX file that ends in the middle of a message: an interrupted upload or copy. */
  TRUNCATED: 'the file ends early',
  /** A TensorFlow.js graph model, or a model.json without a layers topology. */
  UNSUPPORTED_FORMAT: 'a variant of the format that has no layers to read',
  /** An op (ONNX) or layer class or activation (TensorFlow.js) filterscope does not take. */
  UNSUPPORTED_OP: 'an op or layer filterscope does not take; `supported` lists those it does',
  /**
   * Supported ops in an order or with settings filterscope's blocks cannot express: branches
   * (a residual Add, a Concat), batch norm not right after a conv, non-square kernels,
   * dilations, groups, a ReLU after an average pooling, a classifier with an activation...
   */
  UNSUPPORTED_GRAPH: 'a structure filterscope cannot express',
  /** More than one graph input (ONNX) or input layer (TensorFlow.js). */
  SECOND_INPUT: 'a second input',
  /** An input dimension other than the batch that is not fixed. */
  DYNAMIC_DIMENSION: 'a dynamic dimension other than the batch',
  /** An input that is not a float image batch [N, C, H, W] (ONNX) or [N, H, W, C] (TensorFlow.js). */
  UNSUPPORTED_INPUT: 'an input that is not a batch of images',
  /** A weight that is not in the file(s): an ONNX initializer stored outside the file, a weight file not given, a weight the manifest lacks. */
  MISSING_WEIGHTS: 'weights that are not there',
  /** Fewer weight bytes than the manifest needs. */
  SHORT_WEIGHTS: 'fewer weight bytes than needed',
  /** More weight bytes than the manifest needs (the wrong file?). */
  EXTRA_WEIGHTS: 'more weight bytes than needed',
  /** A weight of the wrong shape or type, or with values that are not finite. */
  BAD_WEIGHTS: 'weights of the wrong shape or type, or not finite',
  /** The network read is not a valid filterscope architecture (e.g. one output, too many parameters). */
  INVALID_ARCHITECTURE: 'a network filterscope refuses as an architecture',
} as const;

export type ImportErrorCode = keyof typeof IMPORT_ERROR_CODES;

/** An ONNX node or a TensorFlow.js layer. */
export interface SourceNode {
  readonly name: string;
  /** ONNX op type (`Conv`, `Add`...) or Keras class name (`Conv2D`, `Add`...). */
  readonly opType: string;
}

/** A file that cannot be imported. */
export class ImportError extends Error {
  readonly code: ImportErrorCode;
  /** The node or layer that cannot be imported, when there is one. */
  readonly node?: SourceNode;
  /** The ops or layers filterscope takes, when the error is about one it does not. */
  readonly supported?: readonly string[];

  constructor(
    code: ImportErrorCode,
    message: string,
    options: { node?: SourceNode; supported?: readonly string[]; cause?: unknown } = {},
  ) {
    const where = options.node
      ? `${options.node.opType} ${JSON.stringify(options.node.name)}: `
      : '';
    const list = options.supported ? ` (supported: ${options.supported.join(', ')})` : '';
    super(`${where}${message}${list}`, options.cause === undefined ? {} : { cause: options.cause });
    this.name = 'ImportError';
    this.code = code;
    if (options.node) this.node = options.node;
    if (options.supported) this.supported = options.supported;
  }
}
