import * as tf from '@tensorflow/tfjs';
import type { ProbePoint } from '../contract/probe-points.js';
import { normalizeInto } from '../data/normalize.js';
import type { ChannelStats, Split } from '../data/types.js';
import type { FeatureStore, SplitName } from './feature-store.js';

/**
 * Phase 2's inputs: the frozen network's probe-point features, batch by batch. The first pass
 * over a split runs the frozen network and keeps every row in the feature store; later passes
 * (head epochs, test evaluations, phase 3, AFCC) read the store, unless it keeps nothing.
 */

/** Bytes of one example's features of every probed layer (float32). */
export function featureRowWidth(points: readonly ProbePoint[]): number {
  return points.reduce((s, p) => s + p.features, 0);
}

/**
 * Runs the frozen network on `count` standardised images (`inputs`, NHWC float32) and returns
 * each probe point's features, `[count, P * F]` channels-last flattened, as plain arrays. The
 * TensorFlow.js model is one implementation; a native runtime is another.
 */
export type FrozenNetwork = (inputs: Float32Array, count: number) => Promise<Float32Array[]>;

/** The frozen network as a TensorFlow.js multi-output model (see buildProbeModel). */
export function tfjsFrozenNetwork(
  model: tf.LayersModel,
  points: readonly ProbePoint[],
  inputShape: readonly [number, number, number],
): FrozenNetwork {
  return async (inputs, count) => {
    const outputs = tf.tidy(() => {
      const x = tf.tensor4d(inputs, [count, ...inputShape]);
      const out = model.apply(x, { training: false }) as tf.Tensor | tf.Tensor[];
      return (Array.isArray(out) ? out : [out]).map((t, l) => {
        const point = points[l]!;
        let y = t as tf.Tensor4D;
        for (let r = 0; r < point.extraPoolings; r++) y = tf.maxPool(y, 2, 2, 'valid');
        return tf.reshape(y, [count, point.features]) as tf.Tensor2D;
      });
    });
    try {
      return await Promise.all(outputs.map(async (t) => (await t.data()) as Float32Array));
    } finally {
      tf.dispose(outputs);
    }
  };
}

/** One batch of probe-point features, `[n, P * F]` per probed layer; dispose when done. */
export interface FeatureBatch {
  readonly features: tf.Tensor2D[];
  readonly labels: Int32Array;
  readonly y: tf.Tensor1D;
  dispose(): void;
}

/** The frozen pass's progress: examples of a split done so far, once a second at most. */
export type FeatureProgress = (
  split: SplitName,
  done: number,
  total: number,
  seconds: number,
) => void;

export class FrozenFeatures {
  /** Forward passes run (each feeds every probed layer). */
  forwardCalls = 0;
  /** Seconds spent in the frozen network and in writing its rows. */
  seconds = 0;
  /** Examples run through the frozen network. */
  images = 0;
  private readonly pixels: number;
  private readonly width: number;
  private readonly bytes: Uint8Array;
  private readonly inputs: Float32Array;
  private readonly labels: Int32Array;
  private readonly row: Float32Array;
  private readonly complete: Record<SplitName, boolean> = { train: false, test: false };
  private readonly done: Record<SplitName, number> = { train: 0, test: 0 };
  private lastProgress = 0;

  constructor(
    private readonly network: FrozenNetwork,
    private readonly points: readonly ProbePoint[],
    private readonly inputShape: readonly [number, number, number],
    private readonly stats: ChannelStats,
    private readonly batchSize: number,
    private readonly store: FeatureStore,
    private readonly onProgress: FeatureProgress = () => undefined,
  ) {
    this.pixels = inputShape[0] * inputShape[1] * inputShape[2];
    this.width = featureRowWidth(points);
    this.bytes = new Uint8Array(batchSize * this.pixels);
    this.inputs = new Float32Array(batchSize * this.pixels);
    this.labels = new Int32Array(batchSize);
    this.row = new Float32Array(this.width);
  }

  /**
   * Features of examples `order[start .. start + batchSize)` of `split` (split order when
   * `order` is null). A split is stored after the first pass that reaches its end; passes always
   * cover a split whole, in batches from 0.
   */
  async batch(
    which: SplitName,
    split: Split,
    order: Int32Array | null,
    start: number,
  ): Promise<FeatureBatch> {
    const count = Math.min(this.batchSize, split.count - start);
    const index = (i: number): number => (order ? order[start + i]! : start + i);
    const labels = this.labels.subarray(0, count);
    for (let i = 0; i < count; i++) labels[i] = split.labels[index(i)]!;
    const arrays = this.complete[which]
      ? this.fromStore(which, count, index)
      : await this.fromNetwork(which, split, count, index);
    if (start + count >= split.count && this.store.kind !== 'none') this.complete[which] = true;
    const features = arrays.map((values, l) =>
      tf.tensor2d(values, [count, this.points[l]!.features]),
    );
    const y = tf.tensor1d(labels, 'int32');
    return { features, labels, y, dispose: () => tf.dispose([...features, y]) };
  }

  private fromStore(which: SplitName, count: number, index: (i: number) => number): Float32Array[] {
    const arrays = this.points.map((p) => new Float32Array(count * p.features));
    for (let i = 0; i < count; i++) {
      this.store.read(which, index(i), this.row);
      let at = 0;
      this.points.forEach((p, l) => {
        arrays[l]!.set(this.row.subarray(at, at + p.features), i * p.features);
        at += p.features;
      });
    }
    return arrays;
  }

  private async fromNetwork(
    which: SplitName,
    split: Split,
    count: number,
    index: (i: number) => number,
  ): Promise<Float32Array[]> {
    const started = performance.now();
    const px = this.pixels;
    for (let i = 0; i < count; i++) {
      const from = index(i) * px;
      this.bytes.set(split.images.subarray(from, from + px), i * px);
    }
    const inputs = normalizeInto(
      this.bytes.subarray(0, count * px),
      this.stats,
      this.inputs.subarray(0, count * px),
    );
    this.forwardCalls++;
    const arrays = await this.network(inputs, count);
    if (this.store.kind !== 'none' && !this.complete[which])
      for (let i = 0; i < count; i++) {
        let at = 0;
        this.points.forEach((p, l) => {
          this.row.set(arrays[l]!.subarray(i * p.features, (i + 1) * p.features), at);
          at += p.features;
        });
        this.store.write(which, index(i), this.row);
      }
    this.seconds += (performance.now() - started) / 1000;
    this.images += count;
    // The first pass's progress, at most once a second and at its end.
    if (this.done[which] < split.count) {
      this.done[which] = Math.min(split.count, this.done[which] + count);
      const now = performance.now();
      if (now - this.lastProgress >= 1000 || this.done[which] === split.count) {
        this.lastProgress = now;
        this.onProgress(which, this.done[which], split.count, this.seconds);
      }
    }
    return arrays;
  }
}
