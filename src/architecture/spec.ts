/**
 * Architecture specs: plain JSON, stored in the database and sent to workers. Live TensorFlow.js
 * objects are built from them by the engine and never stored. No imports of the app here.
 */

export type Padding = 'same' | 'valid';
export type Activation = 'relu' | 'linear';

/** 2-D convolution; kernel is `[kernelSize, kernelSize, inChannels, filters]` (Keras layout). */
export interface ConvBlock {
  readonly kind: 'conv';
  readonly filters: number;
  /** Square kernel side, pixels. Default 3. */
  readonly kernelSize?: number;
  /** Default 1. */
  readonly stride?: number;
  /** Default 'same'. */
  readonly padding?: Padding;
  /** Batch norm after the convolution (the convolution then has no bias). Default true. */
  readonly batchNorm?: boolean;
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

export type Block = ConvBlock | PoolBlock | DropoutBlock | FlattenBlock | DenseBlock;
export type BlockKind = Block['kind'];
export const BLOCK_KINDS: readonly BlockKind[] = [
  'conv',
  'maxPool',
  'avgPool',
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
