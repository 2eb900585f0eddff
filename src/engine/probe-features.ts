import * as tf from '@tensorflow/tfjs';
import type { ProbePoint } from '../contract/probe-points.js';
import { normalizeInto } from '../data/normalize.js';
import type { ChannelStats, Split } from '../data/types.js';

/**
 * Phase 2's inputs: the frozen network's probe-point features, batch by batch, with the optional
 * in-memory cache that lets later head epochs, the test evaluations, phase 3 and AFCC run without
 * the frozen network.
 */

/** Bytes the cache of `points` needs for `examples` examples (float32). */
export function featureCacheBytes(points: readonly ProbePoint[], examples: number): number {
  return 4 * points.reduce((s, p) => s + p.features, 0) * examples;
}

/** One batch of probe-point features, `[n, P * F]` per probed layer; dispose when done. */
export interface FeatureBatch {
  readonly features: tf.Tensor2D[];
  readonly labels: Int32Array;
  readonly y: tf.Tensor1D;
  dispose(): void;
}

/**
 * The frozen network's probe-point features, batch by batch: from a forward pass, or, once a
 * split has been seen whole and the cache is on, from memory.
 */
export class FrozenFeatures {
  /** Forward passes run (each feeds every probed layer). */
  forwardCalls = 0;
  private readonly pixels: number;
  private readonly bytes: Uint8Array;
  private readonly inputs: Float32Array;
  private readonly labels: Int32Array;
  private readonly cache: Record<'train' | 'test', { rows: Float32Array[]; complete: boolean }>;

  constructor(
    private readonly model: tf.LayersModel,
    private readonly points: readonly ProbePoint[],
    private readonly inputShape: readonly [number, number, number],
    private readonly stats: ChannelStats,
    private readonly batchSize: number,
    cacheCounts: { train: number; test: number } | null,
  ) {
    this.pixels = inputShape[0] * inputShape[1] * inputShape[2];
    this.bytes = new Uint8Array(batchSize * this.pixels);
    this.inputs = new Float32Array(batchSize * this.pixels);
    this.labels = new Int32Array(batchSize);
    const rows = (count: number): Float32Array[] =>
      cacheCounts ? points.map((p) => new Float32Array(count * p.features)) : [];
    this.cache = {
      train: { rows: rows(cacheCounts?.train ?? 0), complete: false },
      test: { rows: rows(cacheCounts?.test ?? 0), complete: false },
    };
  }

  /**
   * Features of examples `order[start .. start + batchSize)` of `split` (split order when
   * `order` is null). A split's cache is complete after the first pass that reaches its end;
   * passes always cover a split whole, in batches from 0.
   */
  async batch(
    which: 'train' | 'test',
    split: Split,
    order: Int32Array | null,
    start: number,
  ): Promise<FeatureBatch> {
    const count = Math.min(this.batchSize, split.count - start);
    const index = (i: number): number => (order ? (order[start + i] as number) : start + i);
    const labels = this.labels.subarray(0, count);
    for (let i = 0; i < count; i++) labels[i] = split.labels[index(i)] as number;
    const cache = this.cache[which];
    let features: tf.Tensor2D[];
    if (cache.complete) {
      features = this.points.map((p, l) => {
        const rows = cache.rows[l] as Float32Array;
        const out = new Float32Array(count * p.features);
        for (let i = 0; i < count; i++) {
          const at = index(i) * p.features;
          out.set(rows.subarray(at, at + p.features), i * p.features);
        }
        return tf.tensor2d(out, [count, p.features]);
      });
    } else {
      features = this.forward(split, count, index);
      if (cache.rows.length > 0) {
        for (let l = 0; l < features.length; l++) {
          const values = (await (features[l] as tf.Tensor2D).data()) as Float32Array;
          const size = (this.points[l] as ProbePoint).features;
          const rows = cache.rows[l] as Float32Array;
          for (let i = 0; i < count; i++) {
            rows.set(values.subarray(i * size, (i + 1) * size), index(i) * size);
          }
        }
        if (start + count >= split.count) cache.complete = true;
      }
    }
    const y = tf.tensor1d(labels, 'int32');
    return { features, labels, y, dispose: () => tf.dispose([...features, y]) };
  }

  private forward(split: Split, count: number, index: (i: number) => number): tf.Tensor2D[] {
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
    return tf.tidy(() => {
      const x = tf.tensor4d(inputs, [count, ...this.inputShape]);
      const out = this.model.apply(x, { training: false }) as tf.Tensor | tf.Tensor[];
      const outputs = Array.isArray(out) ? out : [out];
      return outputs.map((t, l) => {
        const point = this.points[l] as ProbePoint;
        let y = t as tf.Tensor4D;
        for (let r = 0; r < point.extraPoolings; r++) y = tf.maxPool(y, 2, 2, 'valid');
        return tf.reshape(y, [count, point.features]) as tf.Tensor2D;
      });
    });
  }
}
