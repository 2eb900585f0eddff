import {
  checkBatch,
  checkShape,
  checkWeights,
  contract,
  packWeights,
  type HeadShape,
} from './correlation.js';

/**
 * Ablation (docs/METHOD.md, "Ablation"): the head's test SR with each filter's readout weights
 * zeroed (bias kept), from the output fields of `outputFields` (correlation.ts). Plain typed arrays.
 */

/** The index of the largest of `length` values from `values[offset]`; ties go to the lowest. */
function argmax(values: ArrayLike<number>, offset: number, length: number): number {
  let best = 0;
  let max = values[offset]!;
  for (let j = 1; j < length; j++) {
    const v = values[offset + j]!;
    if (v > max) {
      max = v;
      best = j;
    }
  }
  return best;
}

/** Correct predictions of a batch, with the whole head and with each filter removed. */
export interface AblationCounts {
  /** Images counted. */
  readonly images: number;
  /** Images whose full-logit argmax is the true label. */
  readonly correct: number;
  /** `[F]`: images still right when filter k's fields are subtracted from the logits. */
  readonly correctWithout: Int32Array;
}

/**
 * Counts correct predictions with each filter removed: the logits without filter k are the full
 * logits minus filter k's fields (bias kept), compared in float64. Argmax ties go to the lowest
 * label index, for the full logits as well.
 *
 * @param logits `[n, C]` the head's full logits, bias included (float32, as the model gives them)
 * @param fields `[n, F, C]` from `outputFields` (correlation.ts) of the same images and head
 * @param labels `[n]` true labels in `[0, C)`
 */
export function countCorrectWithout(
  logits: Float32Array,
  fields: Float64Array,
  labels: Int32Array,
  shape: HeadShape,
): AblationCounts {
  checkShape(shape);
  const { filters: F, labels: C } = shape;
  const n = labels.length;
  if (logits.length !== n * C) {
    throw new RangeError(`logits must hold n * C = ${n * C} values, got ${logits.length}`);
  }
  if (fields.length !== n * F * C) {
    throw new RangeError(`fields must hold n * F * C = ${n * F * C} values, got ${fields.length}`);
  }
  const correctWithout = new Int32Array(F);
  let correct = 0;
  for (let x = 0; x < n; x++) {
    const label = labels[x]!;
    if (label < 0 || label >= C) {
      throw new RangeError(`labels[${x}] must be in [0, ${C}), got ${label}`);
    }
    const z = x * C;
    if (argmax(logits, z, C) === label) correct++;
    for (let k = 0; k < F; k++) {
      const h = (x * F + k) * C;
      let best = 0;
      let max = logits[z]! - fields[h]!;
      for (let j = 1; j < C; j++) {
        const v = logits[z + j]! - fields[h + j]!;
        if (v > max) {
          max = v;
          best = j;
        }
      }
      if (best === label) correctWithout[k]!++;
    }
  }
  return { images: n, correct, correctWithout };
}

/** Ablation totals over the test set. */
export interface AblationResult extends AblationCounts {
  /** The head's SR: correct / images (0 when no image). */
  readonly successRate: number;
  /** `[F]`: SR_full - SR without filter k, in SR units (a fraction, not percent). */
  readonly ablation: Float64Array;
}

/**
 * Accumulates ablation counts batch by batch (the per-image form of the contraction: n * P * F * C
 * multiply-adds, against the correlation matrices' n * P * F).
 */
export class AblationAccumulator {
  private readonly packed: Float64Array;
  private readonly shape: HeadShape;
  private readonly correctWithout: Int32Array;
  private correct = 0;
  private images = 0;
  private buffer = new Float64Array(0);

  /**
   * @param weights head kernel `[P * F, C]` float32, flat input index `p * F + k`; copied (packed
   *   per filter as float64), so later changes to it are not seen
   * @param shape P, F and C
   */
  constructor(weights: Float32Array, shape: HeadShape) {
    checkShape(shape);
    checkWeights(weights, shape);
    this.packed = packWeights(weights, shape);
    this.shape = { positions: shape.positions, filters: shape.filters, labels: shape.labels };
    this.correctWithout = new Int32Array(shape.filters);
  }

  /**
   * Adds one batch of test images.
   *
   * @param activations `[n, P, F]` float32, channels-last
   * @param logits `[n, C]` the head's full logits for these images, bias included
   * @param labels `[n]` true labels in `[0, C)`
   */
  add(activations: Float32Array, logits: Float32Array, labels: Int32Array): void {
    checkBatch(activations, labels, this.shape, logits);
    const size = labels.length * this.shape.filters * this.shape.labels;
    if (this.buffer.length !== size) this.buffer = new Float64Array(size);
    contract(activations, this.packed, this.shape, this.buffer);
    const counts = countCorrectWithout(logits, this.buffer, labels, this.shape);
    this.images += counts.images;
    this.correct += counts.correct;
    for (let k = 0; k < this.correctWithout.length; k++) {
      this.correctWithout[k]! += counts.correctWithout[k]!;
    }
  }

  /** Totals so far: `ablation[k] = SR_full - SR_without_k` (0 for every k when no image). */
  finish(): AblationResult {
    const n = this.images;
    const successRate = n === 0 ? 0 : this.correct / n;
    const ablation = new Float64Array(this.correctWithout.length);
    if (n > 0) {
      for (let k = 0; k < ablation.length; k++) {
        ablation[k] = (this.correct - this.correctWithout[k]!) / n;
      }
    }
    return {
      images: n,
      correct: this.correct,
      correctWithout: Int32Array.from(this.correctWithout),
      successRate,
      ablation,
    };
  }
}
