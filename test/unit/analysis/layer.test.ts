import { layerAggregates, layerMetrics, scales } from '../../../src/analysis/index.js';

/*
 * Four filters over C = 5 labels, each worked out by hand (COLUMN_CENTERED, threshold 0.3):
 * - F0 = 2 K + offsets (see metrics.test.ts): max |M| 5.5; clusters {0,1,3}, {4}; signal 9, noise 2.
 * - F1: columns 0 and 1 are [1, .5, -.5, -.5, -.5] and [.5, 1, -.5, -.5, -.5], the rest zero.
 *   Column means 0, max |M| 1, so N = M: marks B00 B01 B10 B11, cluster {0, 1}; signal 4, noise 0.
 *   scale 1 / 5.5 = 0.18: not silent.
 * - F2: column 0 is 0.1 * [-1, .5, .5, .5, -.5]: N's column 0 = [-1, .5, .5, .5, -.5], marks
 *   B10 B20 B30 and no diagonal mark: no cluster, signal 0, noise 3. scale 0.1 / 5.5 = 0.018: silent.
 * - F3: all zero: scale 0, silent, no marks.
 */
const F0 = Float32Array.from(
  [
    [5, 0, 5.5, 1, 1],
    [4, 1, 5.5, 1, 1],
    [2, -3, 5, -2, 4],
    [2, 0, 4.5, 2, 4],
    [2, -3, 4.5, -2, 5],
  ].flat(),
);
const rest = [0, 0, 0];
const F1 = Float32Array.from(
  [
    [1, 0.5],
    [0.5, 1],
    [-0.5, -0.5],
    [-0.5, -0.5],
    [-0.5, -0.5],
  ].flatMap((r) => [...r, ...rest]),
);
const F2 = Float32Array.from([-0.1, 0.05, 0.05, 0.05, -0.05].flatMap((v) => [v, 0, 0, 0, 0]));
const F3 = new Float32Array(25);

describe('layer metrics', () => {
  const { filters, aggregates } = layerMetrics([F0, F1, F2, F3]);

  it('scales each filter by the layer loudest max |M| and marks those under 0.05 silent', () => {
    const want = [1, 1 / 5.5, Math.fround(0.1) / 5.5, 0];
    Array.from(scales([F0, F1, F2, F3])).forEach((s, k) => expect(s).toBeCloseTo(want[k]!, 12));
    filters.forEach((f, k) => expect(f.scale).toBeCloseTo(want[k]!, 12));
    expect(filters.map((f) => f.silent)).toEqual([false, false, true, true]);
    expect(filters.map((f) => f.filter)).toEqual([0, 1, 2, 3]);
    expect(filters[0]!.maxAbs).toBe(5.5);
  });

  it('reports silent filters with their own metrics', () => {
    expect(filters.map((f) => [f.clusters, f.signal, f.noise])).toEqual([
      [[[0, 1, 3], [4]], 9, 2],
      [[[0, 1]], 4, 0],
      [[], 0, 3],
      [[], 0, 0],
    ]);
  });

  it('aggregates over non-silent filters only', () => {
    // F0 and F1: clusters of 3, 1 and 2 labels; signal 13, noise 2.
    expect(aggregates).toEqual({
      filters: 4,
      silentFilters: 2,
      meanClusterSize: 2,
      meanClustersPerFilter: 1.5,
      fractionWithCluster: 1,
      meanNoise: 1,
      totalSignal: 13,
      totalNoise: 2,
      snr: 6.5,
    });
  });

  it('counting the silent filters in lowers the SNR (minScale 0)', () => {
    // F3's scale is 0, not below 0: every filter counts. Noise 2 + 0 + 3 + 0 = 5.
    const all = layerMetrics([F0, F1, F2, F3], { minScale: 0 }).aggregates;
    expect(all).toEqual({
      filters: 4,
      silentFilters: 0,
      meanClusterSize: 2,
      meanClustersPerFilter: 0.75,
      fractionWithCluster: 0.5,
      meanNoise: 1.25,
      totalSignal: 13,
      totalNoise: 5,
      snr: 2.6,
    });
  });

  it('passes threshold and normalization to every filter', () => {
    const [f0] = layerMetrics([F0], { threshold: 1 }).filters;
    expect(f0!.clusters).toEqual([[0], [1], [3], [4]]);
    const [m0] = layerMetrics([F0], { normalization: 'MAX' }).filters;
    expect(m0!.clusters).toEqual([[0, 2, 4], [3]]);
  });

  it('gives null means when every filter is silent and a null SNR when the layer is noise-free', () => {
    expect(layerMetrics([F3, F3]).aggregates).toEqual({
      filters: 2,
      silentFilters: 2,
      meanClusterSize: null,
      meanClustersPerFilter: null,
      fractionWithCluster: null,
      meanNoise: null,
      totalSignal: 0,
      totalNoise: 0,
      snr: null,
    });
    const quiet = layerMetrics([F1]).aggregates;
    expect([quiet.totalSignal, quiet.totalNoise, quiet.snr, quiet.meanClusterSize]).toEqual([
      4,
      0,
      null,
      2,
    ]);
  });

  it('layerAggregates works from stored per-filter results', () => {
    const stored = [
      { clusters: [[1, 2, 3, 4]], signal: 10, noise: 4, silent: false },
      { clusters: [], signal: 0, noise: 2, silent: false },
      { clusters: [[0], [5]], signal: 2, noise: 6, silent: false },
      { clusters: [[0, 1]], signal: 99, noise: 99, silent: true },
    ];
    // Members 4 + 1 + 1 over 3 clusters; 3 clusters over 3 filters; 2 of 3 with a cluster;
    // noise 12 over 3 filters; SNR 12 / 12.
    const a = layerAggregates(stored);
    expect(a.meanClusterSize).toBe(2);
    expect(a.meanClustersPerFilter).toBe(1);
    expect(a.fractionWithCluster).toBeCloseTo(2 / 3, 12);
    expect(a.meanNoise).toBe(4);
    expect(a.snr).toBe(1);
    expect(a.silentFilters).toBe(1);
  });

  it('rejects matrices of different sizes, naming the filter', () => {
    expect(() => layerMetrics([F0, new Float32Array(16)])).toThrow(/matrix 1 holds 16/);
    expect(() => layerMetrics([F0], { minScale: Infinity })).toThrow(/got Infinity/);
  });
});
