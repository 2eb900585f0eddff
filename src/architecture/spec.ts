/**
 * Architecture specs: plain JSON, stored in the database and sent to workers. Live TensorFlow.js
 * objects are built from them by the engine and never stored. No imports of the app here.
 */

export type Padding = 'same' | 'valid';
export type Activation = 'relu' | 'linear';

/**
 * Zeros added around a convolution's input, pixels per side: what ONNX's `pads` and Keras'
 * ZeroPadding2D say. PyTorch's `padding=1` at stride 2 is `{ top: 1, bottom: 1, left: 1, right: 1 }`,
 * which is not 'same' (TensorFlow's 'same' puts the odd pixel at the bottom and right only).
 */
export interface ExplicitPadding {
  readonly top: number;
  readonly bottom: number;
  readonly left: number;
  readonly right: number;
}

/** 2-D convolution; kernel is `[kernelSize, kernelSize, inChannels, filters]` (Keras layout). */
export interface ConvBlock {
  readonly kind: 'conv';
  readonly filters: number;
  /** Square kernel side, pixels. Default 3. */
  readonly kernelSize?: number;
  /** Default 1. */
  readonly stride?: number;
  /** 'same', 'valid' or explicit zeros per side. Default 'same'. */
  readonly padding?: Padding | ExplicitPadding;
  /** Batch norm after the convolution. Default true. */
  readonly batchNorm?: boolean;
  /**
   * A bias added by the convolution. Default: only without batch norm (batch norm's beta makes
   * it redundant); torchvision's `vgg*_bn` networks have both.
   */
  readonly bias?: boolean;
  /** Default 'relu'. */
  readonly activation?: Activation;
}

/** Max- or average-pooling; an odd input size is floored (7 -> 3). */
export interface PoolBlock {
  readonly kind: 'maxPool' | 'avgPool';
  /** Default 2. */
  readonly poolSize?: number;
  /** Default poolSize. */
  readonly stride?: number;
}

/**
 * Average over every position of the map: `[h, w, c]` in, `[c]` out (flat, as Keras'
 * GlobalAveragePooling2D). Only flat blocks (dropout, dense, the classifier) may follow.
 */
export interface GlobalAvgPoolBlock {
  readonly kind: 'globalAvgPool';
}

export interface DropoutBlock {
  readonly kind: 'dropout';
  /** Fraction of units dropped while training, in [0, 1). */
  readonly rate: number;
}

export interface FlattenBlock {
  readonly kind: 'flatten';
}

/** Hidden dense layer; its input must be flat (add a flatten block after the conv stack). */
export interface DenseBlock {
  readonly kind: 'dense';
  readonly units: number;
  /** Default 'relu'. */
  readonly activation?: Activation;
}

export type Block =
  ConvBlock | PoolBlock | GlobalAvgPoolBlock | DropoutBlock | FlattenBlock | DenseBlock;
export type BlockKind = Block['kind'];
export const BLOCK_KINDS: readonly BlockKind[] = [
  'conv',
  'maxPool',
  'avgPool',
  'globalAvgPool',
  'dropout',
  'flatten',
  'dense',
];

/**
 * A network: `blocks` in order, then an implicit classifier (flatten when needed, dense to
 * `labels` units with bias, softmax) that every architecture ends with.
 */
export interface ArchitectureSpec {
  readonly name: string;
  readonly description?: string;
  /** [height, width, channels], channels last. */
  readonly inputShape: readonly [number, number, number];
  /** Number of labels C of the classifier. */
  readonly labels: number;
  readonly blocks: readonly Block[];
}

/** Block defaults, resolved. */
export const CONV_DEFAULTS = {
  kernelSize: 3,
  stride: 1,
  padding: 'same',
  batchNorm: true,
  activation: 'relu',
} as const;
export const POOL_DEFAULT_SIZE = 2;

/**
 * Batch norm as the engine builds it (docs/METHOD.md, "Architectures"): PyTorch's BatchNorm2d
 * defaults in Keras terms, running = 0.9 * running + 0.1 * batch, and epsilon 1e-5. Imports fold
 * another epsilon into the running variance.
 */
export const BATCH_NORM_MOMENTUM = 0.9;
export const BATCH_NORM_EPSILON = 1e-5;

/** Whether a conv block's convolution adds a bias: `bias`, else only without batch norm. */
export function convHasBias(block: ConvBlock): boolean {
  return block.bias ?? !(block.batchNorm ?? CONV_DEFAULTS.batchNorm);
}
