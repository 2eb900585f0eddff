/**
 * In-memory datasets as typed arrays. src/data knows nothing of TensorFlow.js: the engine makes
 * tensors from these, and the API reads the same catalog.
 */

/** One split: `count` images, channels last, one byte per value (0-255), row major. */
export interface Split {
  /** count * height * width * channels bytes. */
  readonly images: Uint8Array;
  /** count labels, each in [0, labelNames.length). */
  readonly labels: Int32Array;
  readonly count: number;
}

export interface LoadedDataset {
  /** Catalog name, e.g. `fashion-mnist`, `procedural`. */
  readonly name: string;
  /** [height, width, channels]. */
  readonly inputShape: readonly [number, number, number];
  readonly labelNames: readonly string[];
  readonly train: Split;
  readonly test: Split;
}

/** Per-channel statistics of pixels scaled to [0, 1], computed on a training split. */
export interface ChannelStats {
  readonly mean: readonly number[];
  readonly std: readonly number[];
}
