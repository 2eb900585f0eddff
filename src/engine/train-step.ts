import * as tf from '@tensorflow/tfjs';
import type { Augmentation } from '../contract/hyperparameters.js';
import type { Augmentation as CropFlip } from '../data/augment.js';
import { augmentBatch, augmentationDefault } from '../data/augment.js';
import { normalizeInto } from '../data/normalize.js';
import type { Random } from '../data/random.js';
import type { ChannelStats, Split } from '../data/types.js';
import type { BatchClock, CancelSignal } from './cancel.js';
import type { modelVariables } from './model.js';
import type { SgdOptimizer } from './optimizer.js';

/**
 * Phase 1's batches: filling them (standardised, augmented), one SGD step, and the test
 * evaluation in inference mode.
 */

export interface Batch {
  readonly count: number;
  /** [height, width, channels] of one example. */
  readonly shape: readonly [number, number, number];
  /** count * h * w * c standardised values. */
  readonly inputs: Float32Array;
  readonly labels: Int32Array;
}

/**
 * What `cropFlip` means for an input shape: data/augment.ts's colour default, a random crop after
 * zero padding (4 pixels at 32 x 32, scaled with the side) and a horizontal flip. Grey images get
 * the same when a run asks for `cropFlip` explicitly.
 */
export function cropFlipFor(inputShape: readonly [number, number, number]): CropFlip {
  return augmentationDefault([inputShape[0], inputShape[1], 3]);
}

/** Gathers, augments and standardises batches into buffers reused across batches. */
export class Batcher {
  private readonly pixels: number;
  private readonly gathered: Uint8Array;
  private readonly augmented: Uint8Array;
  private readonly inputs: Float32Array;
  private readonly labels: Int32Array;
  private readonly augmentation: CropFlip | null;

  constructor(
    readonly inputShape: readonly [number, number, number],
    readonly batchSize: number,
    private readonly stats: ChannelStats,
    augmentation: Augmentation,
  ) {
    this.pixels = inputShape[0] * inputShape[1] * inputShape[2];
    this.gathered = new Uint8Array(batchSize * this.pixels);
    this.augmented = new Uint8Array(batchSize * this.pixels);
    this.inputs = new Float32Array(batchSize * this.pixels);
    this.labels = new Int32Array(batchSize);
    this.augmentation = augmentation === 'cropFlip' ? cropFlipFor(inputShape) : null;
  }

  /**
   * The batch of examples `order[start .. start + batchSize)` (in split order when `order` is
   * null; fewer at the end), augmented with draws from `rng` when it is given and the run
   * augments. The returned arrays are overwritten by the next call.
   */
  fill(split: Split, order: Int32Array | null, start: number, rng: Random | null): Batch {
    const count = Math.min(this.batchSize, split.count - start);
    const px = this.pixels;
    for (let i = 0; i < count; i++) {
      const index = order ? (order[start + i] as number) : start + i;
      this.gathered.set(split.images.subarray(index * px, (index + 1) * px), i * px);
      this.labels[i] = split.labels[index] as number;
    }
    let bytes = this.gathered.subarray(0, count * px);
    if (this.augmentation && rng) {
      const out = this.augmented.subarray(0, count * px);
      bytes = augmentBatch(bytes, out, count, this.inputShape, this.augmentation, rng);
    }
    const inputs = normalizeInto(bytes, this.stats, this.inputs.subarray(0, count * px));
    return { count, shape: this.inputShape, inputs, labels: this.labels.subarray(0, count) };
  }
}

/**
 * One SGD step on a batch (training mode: batch statistics, running statistics updated,
 * dropout active). Returns the batch's mean loss and its number of correct predictions, both
 * owned by the caller.
 */
export function trainStep(
  model: tf.LayersModel,
  trainable: ReturnType<typeof modelVariables>,
  optimizer: SgdOptimizer,
  batch: Batch,
  learningRate: number,
): { loss: tf.Scalar; correct: tf.Scalar } {
  return tf.tidy(() => {
    const x = tf.tensor4d(batch.inputs, [batch.count, ...batch.shape]);
    const y = tf.tensor1d(batch.labels, 'int32');
    let correct: tf.Scalar | null = null;
    const { value, grads } = tf.variableGrads(
      () => {
        const logits = model.apply(x, { training: true }) as tf.Tensor2D;
        // Kept: variableGrads disposes everything f makes except the loss.
        correct = tf.keep(countCorrect(logits, y));
        return crossEntropy(logits, y);
      },
      trainable.map((v) => v.variable),
    );
    const byName = new Map(trainable.map((v) => [v.name, grads[v.variable.name] as tf.Tensor]));
    optimizer.step(byName, learningRate);
    if (!correct) throw new Error('trainStep: the forward pass did not run');
    return { loss: value, correct };
  });
}

/** Mean softmax cross-entropy of logits `[n, C]` against int32 labels `[n]`. */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  // Written out rather than tf.losses.softmaxCrossEntropy, whose custom gradient trips tfjs'
  // kernel leak check in test mode; logSoftmax keeps it stable for large logits.
  const oneHot = tf.oneHot(labels, logits.shape[1]);
  return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1))) as tf.Scalar;
}

/** Number of rows whose argmax (lowest index on ties) is the label, int32 scalar. */
export function countCorrect(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'int32'));
}

/**
 * Test loss and SR in inference mode (batch norm with running statistics, no dropout), or null
 * when `signal` aborts between batches.
 */
export async function evaluate(
  model: tf.LayersModel,
  split: Split,
  batches: Batcher,
  signal: CancelSignal | undefined,
  clock: BatchClock,
  /** Called after each batch with the batches done and their number. */
  onBatch?: (done: number, of: number) => void,
): Promise<{ loss: number; sr: number } | null> {
  let lossSum = 0;
  let correct = 0;
  const total = Math.ceil(split.count / batches.batchSize);
  for (let start = 0; start < split.count; start += batches.batchSize) {
    if (signal?.aborted) return null;
    const batch = batches.fill(split, null, start, null);
    const [loss, right] = tf.tidy(() => {
      const x = tf.tensor4d(batch.inputs, [batch.count, ...batch.shape]);
      const y = tf.tensor1d(batch.labels, 'int32');
      const logits = model.apply(x, { training: false }) as tf.Tensor2D;
      return [tf.mul(crossEntropy(logits, y), batch.count), countCorrect(logits, y)];
    });
    lossSum += (await loss.data())[0] as number;
    correct += (await right.data())[0] as number;
    tf.dispose([loss, right]);
    clock.tick();
    onBatch?.(start / batches.batchSize + 1, total);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return { loss: lossSum / split.count, sr: correct / split.count };
}
