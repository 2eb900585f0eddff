/**
 * Phase 3's contraction (docs/METHOD.md, "Correlation matrix"): every filter's raw
 * correlation matrix, and the per-filter output fields that ablation needs, from a probed layer's
 * activations and its trained head. Plain typed arrays, no TensorFlow.js.
 *
 * Layouts (tfjs channels-last):
 * - activations `[n, P, F]`: `a[x, p, k]` at `x * P * F + p * F + k`;
 * - head kernel `[P * F, C]`: `W[p, k, j]` at `(p * F + k) * C + j` (flat input index `p * F + k`);
 * - a correlation matrix `[C, C]` row-major: `M[i][j]` at `i * C + j` (row = true label);
 * - output fields `[n, F, C]`: `h_j(x)` of filter k at `(x * F + k) * C + j`;
 * - logits `[n, C]`.
 */

/** The dimensions of a probed layer's head. */
export interface HeadShape {
  /** P: spatial positions of the probe point (height x width after any pooling). */
  readonly positions: number;
  /** F: filters (channels) of the probe point. */
  readonly filters: number;
  /** C: labels. */
  readonly labels: number;
}

export function checkShape(shape: HeadShape): void {
  for (const key of ['positions', 'filters', 'labels'] as const) {
    const value = shape[key];
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(`shape.${key} must be a positive integer, got ${value}`);
    }
  }
}

export function checkWeights(weights: Float32Array, shape: HeadShape): void {
  const want = shape.positions * shape.filters * shape.labels;
  if (weights.length !== want) {
    throw new RangeError(
      `weights must hold P * F * C = ${shape.positions} * ${shape.filters} * ${shape.labels} = ` +
        `${want} values ([P * F, C]), got ${weights.length}`,
    );
  }
}

export function checkBatch(
  activations: Float32Array,
  labels: Int32Array,
  shape: HeadShape,
  logits?: Float32Array,
): void {
  const n = labels.length;
  const features = shape.positions * shape.filters;
  if (activations.length !== n * features) {
    throw new RangeError(
      `activations must hold n * P * F = ${n} * ${features} = ${n * features} values ` +
        `(n = labels.length), got ${activations.length}`,
    );
  }
  if (logits !== undefined && logits.length !== n * shape.labels) {
    throw new RangeError(
      `logits must hold n * C = ${n} * ${shape.labels} = ${n * shape.labels} values, ` +
        `got ${logits.length}`,
    );
  }
  for (let x = 0; x < n; x++) {
    const label = labels[x] as number;
    if (label < 0 || label >= shape.labels) {
      throw new RangeError(`labels[${x}] must be in [0, ${shape.labels}), got ${label}`);
    }
  }
}

/**
 * Accumulates the test set batch by batch and yields every filter's raw correlation matrix
 * `M_k[i][j]` = mean, over the images x of true label i, of `h_j(x) = sum_p W[p, k, j] * a[x, p, k]`
 * (the head's bias left out).
 *
 * Because h is linear in the activations, the mean of h over a label's images is h of the mean
 * activation: `add` only sums activations per label (n * P * F additions, no C factor) and `finish`
 * contracts the C per-label means with W once (C * P * F * C multiply-adds). Both the per-label
 * sums and the contraction are float64; only the returned matrices are float32.
 * Memory: C * P * F float64 sums (2.6 MB for C = 10 at 32768 features).
 *
 * A label with no test image gets an all-zero row.
 */
export class CorrelationAccumulator {
  private readonly weights: Float32Array;
  private readonly shape: HeadShape;
  /** `[C, P * F]` float64: per-label sums of the activations. */
  private readonly sums: Float64Array;
  private readonly counts: Float64Array;

  /**
   * @param weights the head kernel `[P * F, C]` float32, flat input index `p * F + k`; not copied,
   *   so it must not change while accumulating
   * @param shape P, F and C
   */
  constructor(weights: Float32Array, shape: HeadShape) {
    checkShape(shape);
    checkWeights(weights, shape);
    this.weights = weights;
    this.shape = { positions: shape.positions, filters: shape.filters, labels: shape.labels };
    this.sums = new Float64Array(shape.labels * shape.positions * shape.filters);
    this.counts = new Float64Array(shape.labels);
  }

  /**
   * Adds one batch of test images.
   *
   * @param activations `[n, P, F]` float32, channels-last
   * @param labels `[n]` true labels in `[0, C)`
   */
  add(activations: Float32Array, labels: Int32Array): void {
    checkBatch(activations, labels, this.shape);
    const features = this.shape.positions * this.shape.filters;
    const sums = this.sums;
    for (let x = 0; x < labels.length; x++) {
      const label = labels[x] as number;
      const row = label * features;
      const from = x * features;
      for (let q = 0; q < features; q++) sums[row + q]! += activations[from + q]!;
      this.counts[label]!++;
    }
  }

  /** Test images added so far, per label: `[C]`. */
  imagesPerLabel(): number[] {
    return Array.from(this.counts);
  }

  /**
   * The raw correlation matrices of the images added so far; may be called again after more `add`s.
   *
   * @returns F matrices, each `[C, C]` row-major float32 (row i = true label i, column j = output
   *   label j); rows of labels with no image are all zero
   */
  finish(): Float32Array[] {
    const { positions: P, filters: F, labels: C } = this.shape;
    const features = P * F;
    const W = this.weights;
    const matrices = Array.from({ length: F }, () => new Float32Array(C * C));
    // One row i of every filter's matrix at a time: [F, C] float64.
    const row = new Float64Array(F * C);
    for (let i = 0; i < C; i++) {
      const count = this.counts[i]!;
      if (count === 0) continue;
      row.fill(0);
      const base = i * features;
      for (let p = 0; p < P; p++) {
        for (let k = 0; k < F; k++) {
          const mean = this.sums[base + p * F + k]! / count;
          if (mean === 0) continue;
          const w = (p * F + k) * C;
          const h = k * C;
          for (let j = 0; j < C; j++) row[h + j]! += W[w + j]! * mean;
        }
      }
      for (let k = 0; k < F; k++) {
        matrices[k]!.set(row.subarray(k * C, (k + 1) * C), i * C);
      }
    }
    return matrices;
  }
}

/**
 * Every filter's raw correlation matrix from one batch holding the whole test set; the one-shot
 * form of {@link CorrelationAccumulator}.
 *
 * @param activations `[n, P, F]` float32, channels-last
 * @param weights head kernel `[P * F, C]` float32 (bias left out)
 * @param labels `[n]` true labels in `[0, C)`
 * @returns F matrices `[C, C]` row-major float32; rows of absent labels are zero
 */
export function correlationMatrices(
  activations: Float32Array,
  weights: Float32Array,
  labels: Int32Array,
  shape: HeadShape,
): Float32Array[] {
  const accumulator = new CorrelationAccumulator(weights, shape);
  accumulator.add(activations, labels);
  return accumulator.finish();
}

/**
 * The head kernel regrouped per filter, `[F, P, C]` float64, so that one filter's P * C weights
 * are contiguous for {@link outputFields}' inner loop.
 */
export function packWeights(weights: Float32Array, shape: HeadShape): Float64Array {
  const { positions: P, filters: F, labels: C } = shape;
  const packed = new Float64Array(P * F * C);
  for (let p = 0; p < P; p++) {
    for (let k = 0; k < F; k++) {
      packed.set(weights.subarray((p * F + k) * C, (p * F + k + 1) * C), (k * P + p) * C);
    }
  }
  return packed;
}

/** `outputFields` on a kernel already packed by `packWeights`. */
export function contract(
  activations: Float32Array,
  packed: Float64Array,
  shape: HeadShape,
  out: Float64Array,
): void {
  const { positions: P, filters: F, labels: C } = shape;
  const features = P * F;
  const n = activations.length / features;
  // One image's activations, transposed to [F, P] so each filter's P values are contiguous.
  const column = new Float64Array(features);
  for (let x = 0; x < n; x++) {
    const from = x * features;
    for (let p = 0; p < P; p++) {
      for (let k = 0; k < F; k++) column[k * P + p] = activations[from + p * F + k]!;
    }
    for (let k = 0; k < F; k++) {
      const h = (x * F + k) * C;
      const w0 = k * P * C;
      const a0 = k * P;
      // Four (then two, then one) labels at a time in local float64 sums: one load of a per
      // four multiply-adds and no stores inside the loop over p. About twice as fast in V8 as
      // a loop over (p, k, j) accumulating in memory; skipping zero activations did not pay.
      let j = 0;
      for (; j + 4 <= C; j += 4) {
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        for (let p = 0, w = w0 + j; p < P; p++, w += C) {
          const a = column[a0 + p]!;
          s0 += packed[w]! * a;
          s1 += packed[w + 1]! * a;
          s2 += packed[w + 2]! * a;
          s3 += packed[w + 3]! * a;
        }
        out[h + j] = s0;
        out[h + j + 1] = s1;
        out[h + j + 2] = s2;
        out[h + j + 3] = s3;
      }
      for (; j + 2 <= C; j += 2) {
        let s0 = 0;
        let s1 = 0;
        for (let p = 0, w = w0 + j; p < P; p++, w += C) {
          const a = column[a0 + p]!;
          s0 += packed[w]! * a;
          s1 += packed[w + 1]! * a;
        }
        out[h + j] = s0;
        out[h + j + 1] = s1;
      }
      for (; j < C; j++) {
        let s0 = 0;
        for (let p = 0, w = w0 + j; p < P; p++, w += C) s0 += packed[w]! * column[a0 + p]!;
        out[h + j] = s0;
      }
    }
  }
}

/**
 * Every filter's output fields for every image of a batch: `h_j(x)` of filter k is
 * `sum_p W[p, k, j] * a[x, p, k]` (no bias), so the head's logits are the sum over k plus the bias.
 * This is the full n * P * F * C contraction, summed over p in float64.
 *
 * @param activations `[n, P, F]` float32, channels-last, n = activations.length / (P * F)
 * @param weights head kernel `[P * F, C]` float32
 * @param out optional `[n, F, C]` buffer to overwrite (reused across batches), else one is allocated
 * @returns `[n, F, C]` float64
 */
export function outputFields(
  activations: Float32Array,
  weights: Float32Array,
  shape: HeadShape,
  out?: Float64Array,
): Float64Array {
  checkShape(shape);
  checkWeights(weights, shape);
  const { positions: P, filters: F, labels: C } = shape;
  const features = P * F;
  if (activations.length % features !== 0) {
    throw new RangeError(
      `activations must hold a whole number of images of P * F = ${features} values, ` +
        `got ${activations.length}`,
    );
  }
  const n = activations.length / features;
  const fields = out ?? new Float64Array(n * F * C);
  if (fields.length !== n * F * C) {
    throw new RangeError(`out must hold n * F * C = ${n * F * C} values, got ${fields.length}`);
  }
  contract(activations, packWeights(weights, shape), shape, fields);
  return fields;
}
