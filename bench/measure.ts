import * as tf from '@tensorflow/tfjs';
import type { ArchitectureSpec } from '../src/architecture/index.js';
import { Random } from '../src/data/random.js';
import { buildModel } from '../src/engine/model.js';

/** Pieces shared by the benchmark (engine.ts) and the kernel profile (profile.ts). */

export interface Timing {
  /** Images per second. */
  readonly imagesPerSecond: number;
  readonly steps: number;
  readonly seconds: number;
}

export interface MeasureOptions {
  /** Untimed steps first (XNNPACK operator creation, weight packing, tfjs caches). */
  readonly warmup: number;
  /** Timed steps at least... */
  readonly minSteps: number;
  /** ...and seconds at least. */
  readonly seconds: number;
}

/** Times `step` (one batch of `batch` images, synchronous through a data read). */
export function measure(step: () => void, batch: number, options: MeasureOptions): Timing {
  for (let i = 0; i < options.warmup; i++) step();
  let steps = 0;
  const start = performance.now();
  let elapsed = 0;
  while (steps < options.minSteps || elapsed < options.seconds * 1000) {
    step();
    steps++;
    elapsed = performance.now() - start;
  }
  return { imagesPerSecond: (steps * batch * 1000) / elapsed, steps, seconds: elapsed / 1000 };
}

/** A model of `spec` with a fixed random batch, a training step and an inference step. */
export interface Workload {
  /** One SGD (momentum 0.9) step on softmax cross-entropy, batch norm in training mode. */
  train(): void;
  /** One forward pass in inference mode. */
  infer(): void;
  dispose(): void;
}

/** Builds `spec` with the engine's own `buildModel` on the active backend. */
export function workload(spec: ArchitectureSpec, batch: number, seed = 1): Workload {
  const model = buildModel(spec, seed);
  const rng = new Random(seed);
  const [h, w, c] = spec.inputShape;
  const pixels = Float32Array.from({ length: batch * h * w * c }, () => rng.normal());
  const labels = Int32Array.from({ length: batch }, () => rng.int(spec.labels));
  const x = tf.tensor4d(pixels, [batch, h, w, c]);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), spec.labels).toFloat());
  const optimizer = tf.train.momentum(0.01, 0.9);
  return {
    train: () => {
      const loss = optimizer.minimize(
        () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor),
        true,
      );
      loss?.dataSync();
      loss?.dispose();
    },
    infer: () => {
      // Nothing returned from tidy: it would walk the array looking for tensors.
      tf.tidy(() => {
        (model.predict(x, { batchSize: batch }) as tf.Tensor).dataSync();
      });
    },
    dispose: () => {
      optimizer.dispose();
      model.dispose();
      x.dispose();
      y.dispose();
    },
  };
}
