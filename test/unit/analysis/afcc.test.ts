import {
  afccMask,
  afccWeights,
  correlationMatrices,
  type HeadShape,
} from '../../../src/analysis/index.js';

// P = 2, F = 2, C = 3; W[p, k, j] = 1 .. 12 at (p * F + k) * C + j.
const shape: HeadShape = { positions: 2, filters: 2, labels: 3 };
const weights = Float32Array.from({ length: 12 }, (_, q) => q + 1);

describe('AFCC', () => {
  it('keeps a filter only its connections to its cluster labels; no cluster, no weights', () => {
    const input = Float32Array.from(weights);
    const result = afccWeights(input, [[[0, 2]], []], shape);
    // Filter 0 keeps labels 0 and 2 at both positions, filter 1 keeps nothing: 4 of 12.
    expect(Array.from(result.weights)).toEqual([1, 0, 3, 0, 0, 0, 7, 0, 9, 0, 0, 0]);
    expect(Array.from(result.mask)).toEqual([1, 0, 1, 0, 0, 0]);
    expect([result.kept, result.total]).toEqual([4, 12]);
    expect(result.keptFraction).toBeCloseTo(1 / 3, 12);
    expect(Array.from(input)).toEqual(Array.from(weights));
  });

  it('keeps the union of a filter with several clusters', () => {
    // Filter 0: {1}; filter 1: {0} and {2}: 1 + 2 labels at 2 positions = 6 of 12.
    const result = afccWeights(weights, [[[1]], [[0], [2]]], shape);
    expect(Array.from(result.weights)).toEqual([0, 2, 0, 4, 0, 6, 0, 8, 0, 10, 0, 12]);
    expect(result.keptFraction).toBeCloseTo(0.5, 12);
  });

  it('leaves only cluster columns in the masked head’s correlation matrices', () => {
    // One image per label, all activations 1: M_k[i][j] = sum_p W[p, k, j].
    const activations = new Float32Array(3 * 4).fill(1);
    const labels = Int32Array.from([0, 1, 2]);
    const masked = afccWeights(weights, [[[0, 2]], [[1]]], shape).weights;
    const [m0, m1] = correlationMatrices(activations, masked, labels, shape);
    // Filter 0: columns (1 + 7, 0, 3 + 9); filter 1: (0, 5 + 11, 0), in every row.
    expect(Array.from(m0!)).toEqual([8, 0, 12, 8, 0, 12, 8, 0, 12]);
    expect(Array.from(m1!)).toEqual([0, 16, 0, 0, 16, 0, 0, 16, 0]);
  });

  it('rejects a cluster label out of range and a clusters list of the wrong length', () => {
    expect(() => afccMask([[[0, 3]]], 3)).toThrow(/label 3, outside \[0, 3\)/);
    expect(() => afccWeights(weights, [[[0]]], shape)).toThrow(/one entry per filter \(2\), got 1/);
    expect(() => afccWeights(weights.subarray(1), [[], []], shape)).toThrow(/got 11/);
  });
});
