import {
  clustersOf,
  filterMetrics,
  maxAbs,
  normalize,
  preferredLabel,
  signalAndNoise,
  type FilterMetrics,
} from '../../../src/analysis/index.js';

/*
 * A 5-label matrix built so that every normalisation's answer is known by hand.
 * K has zero column sums and max |K| = 1:
 *        c0     c1     c2     c3     c4
 *   r0 [ 1,     0.5,   0.25,  0.5,  -1   ]
 *   r1 [ 0.5,   1,     0.25,  0.5,  -1   ]
 *   r2 [-0.5,  -1,     0,    -1,     0.5 ]
 *   r3 [-0.5,   0.5,  -0.25,  1,     0.5 ]
 *   r4 [-0.5,  -1,    -0.25, -1,     1   ]
 * M = 2 K + column offsets [3, -1, 5, 0, 3], so COLUMN_CENTERED gives N = K exactly.
 */
const K = [
  [1, 0.5, 0.25, 0.5, -1],
  [0.5, 1, 0.25, 0.5, -1],
  [-0.5, -1, 0, -1, 0.5],
  [-0.5, 0.5, -0.25, 1, 0.5],
  [-0.5, -1, -0.25, -1, 1],
].flat();
const M = Float32Array.from(
  [
    [5, 0, 5.5, 1, 1],
    [4, 1, 5.5, 1, 1],
    [2, -3, 5, -2, 4],
    [2, 0, 4.5, 2, 4],
    [2, -3, 4.5, -2, 5],
  ].flat(),
);

/** A mark matrix from one string of 0s and 1s per row. */
function grid(rows: string[]): number[] {
  return rows.flatMap((row) => [...row].map(Number));
}

function summary(m: FilterMetrics) {
  return {
    marks: Array.from(m.marks),
    markCount: m.markCount,
    clusters: m.clusters,
    signal: m.signal,
    noise: m.noise,
    snr: m.snr,
    noiseFree: m.noiseFree,
  };
}

describe('preferred label and preference', () => {
  it('picks the column with the largest mean and counts rows whose maximum is there', () => {
    // Column means [3, -1, 5, 0, 3]; row maxima in columns 2, 2, 2, 2, 4.
    expect(preferredLabel(M)).toEqual({ preferredLabel: 2, preference: 0.8 });
  });

  it('breaks ties in both argmaxes toward the lowest label', () => {
    // Column means all 1; row maxima: r0 tie 0/1 -> 0, r1 all zero -> 0, r2 -> 2.
    const tied = [3, 3, 0, 0, 0, 0, 0, 0, 3];
    expect(preferredLabel(tied)).toEqual({ preferredLabel: 0, preference: 2 / 3 });
  });
});

describe('COLUMN_CENTERED (default)', () => {
  const metrics = filterMetrics(M);

  it('subtracts column means and divides by the largest |entry|: N = K', () => {
    Array.from(metrics.normalized).forEach((v, q) => expect(v).toBeCloseTo(K[q]!, 12));
  });

  it('marks N >= 0.3, builds clusters from diagonal and mutual marks, and counts signal and noise', () => {
    // Marks: r0 c0 c1 c3; r1 c0 c1 c3; r2 c4; r3 c1 c3 c4; r4 c4.
    // Vertices 0, 1, 3, 4 (label 2 has only an off-diagonal mark: in no cluster).
    // Edges 0-1 and 1-3; 0->3 and 3->4 are one-way. Clusters {0, 1, 3} and {4}.
    // Signal: 8 marks inside {0, 1, 3} (0->3 one-way included) + B[4][4] = 9.
    // Noise: B[2][4] (2 is in no cluster) and B[3][4] (across clusters) = 2.
    expect(summary(metrics)).toEqual({
      marks: grid(['11010', '11010', '00001', '01011', '00001']),
      markCount: 11,
      clusters: [[0, 1, 3], [4]],
      signal: 9,
      noise: 2,
      snr: 4.5,
      noiseFree: false,
    });
    expect(metrics.preferredLabel).toBe(2);
    expect(metrics.preference).toBeCloseTo(0.8, 12);
  });

  it('changes with the threshold as worked out by hand', () => {
    // N takes the values 1, 0.5, 0.25, 0, -0.25, -0.5, -1 only.
    const sweep = [1.01, 1, 0.5, 0.3, 0.25, 0].map((threshold) => {
      const m = filterMetrics(M, { threshold });
      return [threshold, m.markCount, m.clusters, m.signal, m.noise, m.snr];
    });
    expect(sweep).toEqual([
      [1.01, 0, [], 0, 0, null],
      // Only the four diagonal 1s: four lone clusters, no noise.
      [1, 4, [[0], [1], [3], [4]], 4, 0, null],
      [0.5, 11, [[0, 1, 3], [4]], 9, 2, 4.5],
      [0.3, 11, [[0, 1, 3], [4]], 9, 2, 4.5],
      // + B[0][2], B[1][2] (label 2 still has no diagonal mark): noise 4.
      [0.25, 13, [[0, 1, 3], [4]], 9, 4, 2.25],
      // + B[2][2] = 0 >= 0: label 2 becomes a lone cluster; B[0][2], B[1][2] stay noise.
      [0, 14, [[0, 1, 3], [2], [4]], 10, 4, 2.5],
    ]);
    // Lowering the threshold never removes a mark.
    const counts = sweep.map((row) => row[1] as number);
    counts.forEach((c, i) => i > 0 && expect(c).toBeGreaterThanOrEqual(counts[i - 1]!));
  });

  it('gives no marks when the centred matrix is all zero (input-independent filter)', () => {
    // Every row the same. With plain float64 numbers a naive mean leaves a residue: five 0.11s
    // sum to 0.55, and 0.55 / 5 - 0.11 = 1.4e-17, which dividing by the largest |entry| would
    // turn into 1 and a mark.
    const row = [0.11, 0.7, -0.3, 0.22, 0.2];
    const flat = [row, row, row, row, row].flat();
    const m = filterMetrics(flat, { threshold: 0 });
    expect(Array.from(m.normalized)).toEqual(new Array(25).fill(0));
    expect(summary(m)).toEqual({
      marks: new Array(25).fill(0),
      markCount: 0,
      clusters: [],
      signal: 0,
      noise: 0,
      snr: null,
      noiseFree: true,
    });
    expect(m.preferredLabel).toBe(1);
    expect(m.preference).toBe(1);
  });
});

describe('MAX', () => {
  const metrics = filterMetrics(M, { normalization: 'MAX' });

  it('divides M by its largest entry (5.5)', () => {
    Array.from(metrics.normalized).forEach((v, q) => expect(v).toBeCloseTo(M[q]! / 5.5, 12));
  });

  it('lets the preferred column dominate the clusters', () => {
    // Marks where M >= 0.3 * 5.5 = 1.65:
    //   r0 c0 c2; r1 c0 c2; r2 c0 c2 c4; r3 c0 c2 c3 c4; r4 c0 c2 c4.
    // Vertices 0, 2, 3, 4 (M[1][1] = 1 < 1.65). Edges 0-2, 2-4. Clusters {0, 2, 4}, {3}.
    // Signal: B00 B02 B20 B22 B24 B40 B42 B44 + B33 = 9; noise: B10 B12 B30 B32 B34 = 5.
    expect(summary(metrics)).toEqual({
      marks: grid(['10100', '10100', '10101', '10111', '10101']),
      markCount: 14,
      clusters: [[0, 2, 4], [3]],
      signal: 9,
      noise: 5,
      snr: 1.8,
      noiseFree: false,
    });
  });

  it('gives N = 0 and no marks when no entry is positive', () => {
    for (const matrix of [
      [-1, -2, -0.5, -3],
      [0, 0, 0, 0],
      [0, -1, -1, 0],
    ]) {
      const m = filterMetrics(matrix, { normalization: 'MAX', threshold: -10 });
      expect(Array.from(m.normalized)).toEqual([0, 0, 0, 0]);
      expect(m.markCount).toBe(0);
      expect(m.clusters).toEqual([]);
      expect(m.snr).toBeNull();
      expect(m.noiseFree).toBe(true);
    }
  });
});

describe('NONE', () => {
  it('thresholds M as is', () => {
    const m = filterMetrics(M, { normalization: 'NONE', threshold: 4.5 });
    expect(Array.from(m.normalized)).toEqual(Array.from(M));
    // Marks where M >= 4.5: r0 c0 c2; r1 c2; r2 c2; r3 c2; r4 c2 c4.
    // Vertices 0, 2, 4 with no mutual pair: three lone clusters. Signal B00 B22 B44 = 3;
    // noise B02 B12 B32 B42 = 4.
    expect(summary(m)).toEqual({
      marks: grid(['10100', '00100', '00100', '00100', '00101']),
      markCount: 7,
      clusters: [[0], [2], [4]],
      signal: 3,
      noise: 4,
      snr: 0.75,
      noiseFree: false,
    });
  });

  it('with the default threshold 0.3 on a small matrix', () => {
    // [[0.9, 0.4, 0], [0.35, 0.2, 0], [0, 0.5, 0.3]]: B00, B01, B10, B21, B22.
    // Vertices 0 and 2 (0.2 < 0.3 on the diagonal of 1); 0-2 not mutual. Label 1 joins no
    // cluster although 0<->1 is mutual. Signal B00 + B22 = 2; noise B01 B10 B21 = 3.
    const m = filterMetrics([0.9, 0.4, 0, 0.35, 0.2, 0, 0, 0.5, 0.3], { normalization: 'NONE' });
    expect(m.clusters).toEqual([[0], [2]]);
    expect([m.signal, m.noise]).toEqual([2, 3]);
    expect(m.snr).toBeCloseTo(2 / 3, 12);
  });
});

describe('building blocks', () => {
  it('clustersOf joins labels through chains of mutual marks', () => {
    // 0<->2, 2<->4 mutual, 1 alone, 3 has no diagonal mark but mutual marks with 1.
    const marks = grid(['10100', '01010', '10101', '01000', '00101']);
    expect(clustersOf(marks)).toEqual([[0, 2, 4], [1]]);
    // Signal: {0, 2, 4} has 3 diagonal + 4 mutual marks, {1} one: 8. Noise: 1->3 and 3->1.
    expect(signalAndNoise(marks, clustersOf(marks))).toEqual({ signal: 8, noise: 2 });
  });

  it('maxAbs takes the largest absolute entry', () => {
    expect(maxAbs(Float32Array.from([1, -3.5, 2, 0]))).toBe(3.5);
    expect(maxAbs([0, 0, 0, 0])).toBe(0);
  });

  it('normalize reports a degenerate divisor', () => {
    expect(normalize([1, 1, 1, 1]).degenerate).toBe(true);
    expect(normalize([1, 2, 3, 4], 'NONE').degenerate).toBe(false);
  });

  it('rejects a non-square matrix, a bad normalization and a bad threshold, naming the value', () => {
    expect(() => filterMetrics([1, 2, 3])).toThrow(/C \* C values, got 3/);
    expect(() => filterMetrics([1, 2, 3, 4], { normalization: 'ROW' as 'MAX' })).toThrow(/got ROW/);
    expect(() => filterMetrics([1, 2, 3, 4], { threshold: NaN })).toThrow(/got NaN/);
  });
});
