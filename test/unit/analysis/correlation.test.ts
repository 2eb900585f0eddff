import {
  AblationAccumulator,
  CorrelationAccumulator,
  correlationMatrices,
  countCorrectWithout,
  outputFields,
  type HeadShape,
} from '../../../src/analysis/index.js';

/*
 * A head with P = 2 positions, F = 2 filters, C = 3 labels. W[p, k, :] sits at (p * F + k) * C:
 *   W[0, 0] = [1, 0, 0]     W[0, 1] = [0, 2, 1]
 *   W[1, 0] = [0.5, -1, 0]  W[1, 1] = [1, 1, -1]
 * Three test images, a[x, p, k] at x * P * F + p * F + k:
 *   x0 (label 0): a[0, :] = [1, 0], a[1, :] = [2, 1]
 *   x1 (label 0): a[0, :] = [3, 1], a[1, :] = [0, 0]
 *   x2 (label 1): a[0, :] = [0, 2], a[1, :] = [4, 1]
 * By hand, h^k(x) = sum_p a[x, p, k] * W[p, k]:
 *   h^0(x0) = 1*[1,0,0] + 2*[0.5,-1,0] = [2,-2,0]   h^1(x0) = 0 + 1*[1,1,-1] = [1,1,-1]
 *   h^0(x1) = 3*[1,0,0]                = [3,0,0]    h^1(x1) = 1*[0,2,1]      = [0,2,1]
 *   h^0(x2) = 4*[0.5,-1,0]             = [2,-4,0]   h^1(x2) = 2*[0,2,1] + [1,1,-1] = [1,5,1]
 * so M_0 = [[2.5,-1,0],[2,-4,0],[0,0,0]] and M_1 = [[0.5,1.5,0],[1,5,1],[0,0,0]] (label 2 has no
 * image: zero row).
 */
const shape: HeadShape = { positions: 2, filters: 2, labels: 3 };
const weights = Float32Array.from([1, 0, 0, 0, 2, 1, 0.5, -1, 0, 1, 1, -1]);
const activations = Float32Array.from([1, 0, 2, 1, 3, 1, 0, 0, 0, 2, 4, 1]);
const labels = Int32Array.from([0, 0, 1]);
const M0 = [2.5, -1, 0, 2, -4, 0, 0, 0, 0];
const M1 = [0.5, 1.5, 0, 1, 5, 1, 0, 0, 0];
const fieldsByHand = [
  [2, -2, 0, 1, 1, -1],
  [3, 0, 0, 0, 2, 1],
  [2, -4, 0, 1, 5, 1],
].flat();

/** Deterministic pseudo-random numbers for the larger cross-checks (xorshift32). */
function random(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

describe('correlation matrices', () => {
  it('match the hand-computed M_k, with an all-zero row for a label without images', () => {
    const matrices = correlationMatrices(activations, weights, labels, shape);
    expect(matrices).toHaveLength(2);
    expect(matrices[0]).toBeInstanceOf(Float32Array);
    expect(Array.from(matrices[0]!)).toEqual(M0);
    expect(Array.from(matrices[1]!)).toEqual(M1);
  });

  it('come out the same when the test set is fed in batches', () => {
    const accumulator = new CorrelationAccumulator(weights, shape);
    accumulator.add(activations.subarray(0, 4), labels.subarray(0, 1));
    accumulator.add(activations.subarray(4, 12), labels.subarray(1, 3));
    expect(accumulator.imagesPerLabel()).toEqual([2, 1, 0]);
    const [m0, m1] = accumulator.finish();
    expect(Array.from(m0!)).toEqual(M0);
    expect(Array.from(m1!)).toEqual(M1);
  });

  it('agree within 1e-5 (relative) with the per-image definition on random data', () => {
    const s: HeadShape = { positions: 9, filters: 7, labels: 5 };
    const n = 200;
    const rand = random(7);
    const w = Float32Array.from({ length: 9 * 7 * 5 }, () => rand() * 2 - 1);
    // ReLU-like: about half the activations are zero.
    const a = Float32Array.from({ length: n * 9 * 7 }, () => Math.max(0, rand() * 2 - 1));
    // Label 2 has no image: its row is zero and the rows after it are still filled.
    const y = Int32Array.from({ length: n }, () => [0, 1, 3, 4][Math.floor(rand() * 4)]!);
    // The definition, written out: mean over x of label i of sum_p W[p,k,j] a[x,p,k].
    const want = Array.from({ length: 7 }, () => new Float64Array(25));
    const count = [0, 0, 0, 0, 0];
    for (let x = 0; x < n; x++) {
      const i = y[x]!;
      count[i]!++;
      for (let k = 0; k < 7; k++) {
        for (let j = 0; j < 5; j++) {
          let h = 0;
          for (let p = 0; p < 9; p++) h += w[(p * 7 + k) * 5 + j]! * a[x * 63 + p * 7 + k]!;
          want[k]![i * 5 + j]! += h;
        }
      }
    }
    const accumulator = new CorrelationAccumulator(w, s);
    for (let from = 0; from < n; from += 64) {
      const to = Math.min(n, from + 64);
      accumulator.add(a.subarray(from * 63, to * 63), y.subarray(from, to));
    }
    const got = accumulator.finish();
    for (let k = 0; k < 7; k++) {
      for (let q = 0; q < 25; q++) {
        const i = Math.floor(q / 5);
        const expected = count[i] === 0 ? 0 : want[k]![q]! / count[i]!;
        expect(Math.abs(got[k]![q]! - expected)).toBeLessThanOrEqual(
          1e-5 * (1 + Math.abs(expected)),
        );
      }
      expect(Array.from(got[k]!.subarray(10, 15))).toEqual([0, 0, 0, 0, 0]);
    }
  });

  it('reject a weights array of the wrong size and labels out of range, naming what they got', () => {
    expect(() => new CorrelationAccumulator(new Float32Array(11), shape)).toThrow(/got 11/);
    const accumulator = new CorrelationAccumulator(weights, shape);
    expect(() => accumulator.add(activations, Int32Array.from([0, 3, 1]))).toThrow(
      /labels\[1\] must be in \[0, 3\), got 3/,
    );
    expect(() => accumulator.add(activations.subarray(0, 8), labels)).toThrow(/got 8/);
    expect(() => new CorrelationAccumulator(weights, { ...shape, filters: 0 })).toThrow(
      /shape.filters must be a positive integer, got 0/,
    );
  });
});

describe('output fields and ablation', () => {
  it('outputFields gives every filter h(x) per image, bias left out', () => {
    expect(Array.from(outputFields(activations, weights, shape))).toEqual(fieldsByHand);
  });

  /*
   * With bias b = [0, 0.5, 0] the full logits z = h^0 + h^1 + b are
   *   x0: [3, -0.5, -1] -> 0 (label 0, right)   x1: [3, 2.5, 1] -> 0 (right)
   *   x2: [3, 1.5, 1] -> 0 (label 1, wrong)     so SR_full = 2/3.
   * Without filter 0 (h^1 + b): x0 [1, 1.5, -1] -> 1 wrong, x1 [0, 2.5, 1] -> 1 wrong,
   *   x2 [1, 5.5, 1] -> 1 right: 1 correct, ablation_0 = 2/3 - 1/3 = 1/3.
   * Without filter 1 (h^0 + b): x0 [2, -1.5, 0] -> 0, x1 [3, 0.5, 0] -> 0, x2 [2, -3.5, 0] -> 0:
   *   2 correct, ablation_1 = 0.
   */
  const logits = Float32Array.from([3, -0.5, -1, 3, 2.5, 1, 3, 1.5, 1]);

  it('counts correct predictions with each filter removed', () => {
    const fields = outputFields(activations, weights, shape);
    const counts = countCorrectWithout(logits, fields, labels, shape);
    expect(counts.images).toBe(3);
    expect(counts.correct).toBe(2);
    expect(Array.from(counts.correctWithout)).toEqual([1, 2]);
  });

  it('breaks argmax ties toward the lowest label index', () => {
    // Bias 0: logits x0 [3, -1, -1], x1 [3, 2, 1], x2 [3, 1, 1]. Without filter 0, x0 scores
    // [1, 1, -1]: a tie between labels 0 and 1 that goes to 0 (right); x1 [0, 2, 1] -> 1 wrong;
    // x2 [1, 5, 1] -> 1 right. Ties to the highest index would have counted 1, not 2.
    const noBias = Float32Array.from([3, -1, -1, 3, 2, 1, 3, 1, 1]);
    const counts = countCorrectWithout(
      noBias,
      outputFields(activations, weights, shape),
      labels,
      shape,
    );
    expect(counts.correct).toBe(2);
    expect(counts.correctWithout[0]).toBe(2);
    // Full logits tied at the top: [2, 2, 0] with label 1 is wrong, with label 0 right.
    const tied = countCorrectWithout(
      Float32Array.from([2, 2, 0]),
      new Float64Array(2 * 3),
      Int32Array.from([1]),
      shape,
    );
    expect(tied.correct).toBe(0);
  });

  it('AblationAccumulator gives ablation_k = SR_full - SR_without_k over batches', () => {
    const accumulator = new AblationAccumulator(weights, shape);
    accumulator.add(activations.subarray(0, 8), logits.subarray(0, 6), labels.subarray(0, 2));
    accumulator.add(activations.subarray(8), logits.subarray(6), labels.subarray(2));
    const result = accumulator.finish();
    expect(result.images).toBe(3);
    expect(result.correct).toBe(2);
    expect(result.successRate).toBeCloseTo(2 / 3, 12);
    expect(Array.from(result.correctWithout)).toEqual([1, 2]);
    expect(result.ablation[0]).toBeCloseTo(1 / 3, 12);
    expect(result.ablation[1]).toBeCloseTo(0, 12);
  });

  it('AblationAccumulator agrees with zeroing each filter in the head and re-scoring', () => {
    const s: HeadShape = { positions: 4, filters: 6, labels: 4 };
    const n = 300;
    const rand = random(11);
    const w = Float32Array.from({ length: 4 * 6 * 4 }, () => rand() * 2 - 1);
    const bias = [0.3, -0.2, 0.1, 0];
    const a = Float32Array.from({ length: n * 24 }, () => Math.max(0, rand() * 2 - 1));
    const y = Int32Array.from({ length: n }, () => Math.floor(rand() * 4));
    // The definition: logits of the head with filter `without` zeroed (-1: none), bias kept.
    const correctWith = (without: number) => {
      let correct = 0;
      for (let x = 0; x < n; x++) {
        const z = bias.map((b, j) => {
          let sum = b;
          for (let p = 0; p < 4; p++) {
            for (let k = 0; k < 6; k++) {
              if (k !== without) sum += w[(p * 6 + k) * 4 + j]! * a[x * 24 + p * 6 + k]!;
            }
          }
          return sum;
        });
        if (z.indexOf(Math.max(...z)) === y[x]) correct++;
      }
      return correct;
    };
    const full = correctWith(-1);
    const logits = new Float32Array(n * 4);
    for (let x = 0; x < n; x++) {
      for (let j = 0; j < 4; j++) {
        let sum = bias[j]!;
        for (let q = 0; q < 24; q++) sum += w[q * 4 + j]! * a[x * 24 + q]!;
        logits[x * 4 + j] = sum;
      }
    }
    const accumulator = new AblationAccumulator(w, s);
    for (let from = 0; from < n; from += 128) {
      const to = Math.min(n, from + 128);
      accumulator.add(
        a.subarray(from * 24, to * 24),
        logits.subarray(from * 4, to * 4),
        y.subarray(from, to),
      );
    }
    const result = accumulator.finish();
    expect(result.correct).toBe(full);
    for (let k = 0; k < 6; k++) {
      expect(result.correctWithout[k]).toBe(correctWith(k));
      expect(result.ablation[k]).toBeCloseTo((full - correctWith(k)) / n, 12);
    }
    // The example must exercise ablation: some filter's removal changes the count.
    expect(result.ablation.some((d) => d !== 0)).toBe(true);
  });

  it('AblationAccumulator reports zeros before any image', () => {
    const result = new AblationAccumulator(weights, shape).finish();
    expect(result.images).toBe(0);
    expect(result.successRate).toBe(0);
    expect(Array.from(result.ablation)).toEqual([0, 0]);
  });
});
