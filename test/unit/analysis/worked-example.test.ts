import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  afccWeights,
  filterMetrics,
  layerMetrics,
  normalize,
  preferredLabel,
} from '../../../src/analysis/index.js';

/*
 * The worked example of docs/METHOD.md ("Worked example"), run through src/analysis. Every
 * `text` code block of that section must be exactly what this test renders from the code's
 * results, in order, so that the document cannot drift from the code.
 */

const DOC = join(__dirname, '..', '..', '..', 'docs', 'METHOD.md');
const C = 4;

/** The raw matrix of the example (rows: true label; columns: output label). */
const M = Float32Array.from(
  [
    [4, 3, -3.5, 6],
    [2, 4, -2, 5],
    [-3, -1, 1, 9],
    [-3, -2, 0.5, 8],
  ].flat(),
);

/** A C x C matrix as the document prints it: `j=` header, `i=` rows, 7 characters a column. */
function table(values: ArrayLike<number>): string {
  const cell = (text: string): string => text.padStart(7);
  const header = '   ' + Array.from({ length: C }, (_, j) => cell(`j=${j}`)).join('');
  const rows = Array.from(
    { length: C },
    (_, i) =>
      `i=${i}` + Array.from({ length: C }, (_, j) => cell(String(values[i * C + j]))).join(''),
  );
  return [header, ...rows].join('\n');
}

const list = (clusters: readonly (readonly number[])[]): string =>
  `[${clusters.map((c) => `[${c.join(', ')}]`).join(', ')}]`;

/** The `text` code blocks of the document's "Worked example" section, in order. */
function documentedBlocks(): string[] {
  const doc = readFileSync(DOC, 'utf8');
  const start = doc.indexOf('\n## Worked example\n');
  expect(start).toBeGreaterThan(-1);
  const end = doc.indexOf('\n## ', start + 1);
  const section = doc.slice(start, end === -1 ? undefined : end);
  return [...section.matchAll(/```text\n([\s\S]*?)\n```/g)].map((m) => m[1] as string);
}

describe('the worked example of docs/METHOD.md', () => {
  const centred = filterMetrics(M);
  const max = filterMetrics(M, { normalization: 'MAX' });
  const layer = layerMetrics([M, M.map((v) => 2 * v), M.map((v) => v / 32)]);
  const P = 2;
  const afcc = afccWeights(
    new Float32Array(P * 3 * C).fill(1),
    layer.filters.map((f) => f.clusters),
    { positions: P, filters: 3, labels: C },
  );

  it('has the numbers the prose states', () => {
    expect(preferredLabel(M)).toEqual({ preferredLabel: 3, preference: 1 });
    // Column means 0, 1, -1, 7; the largest centred entry is 4; the largest raw entry is 9.
    const columnMean = (j: number): number => (M[j]! + M[4 + j]! + M[8 + j]! + M[12 + j]!) / 4;
    expect([0, 1, 2, 3].map(columnMean)).toEqual([0, 1, -1, 7]);
    expect(Array.from(centred.normalized)).toEqual(
      Array.from(M, (v, q) => (v - columnMean(q % C)) / 4),
    );
    expect(Array.from(normalize(M, 'MAX').normalized)).toEqual(Array.from(M, (v) => v / 9));
    expect(centred.clusters).toEqual([[0, 1], [2]]);
    expect([centred.signal, centred.noise, centred.snr, centred.noiseFree]).toEqual([
      5,
      2,
      2.5,
      false,
    ]);
    expect(max.clusters).toEqual([[0], [1], [3]]);
    expect([max.signal, max.noise, max.snr]).toEqual([3, 4, 0.75]);
    expect(layer.filters.map((f) => f.maxAbs)).toEqual([9, 18, 0.28125]);
    expect(layer.aggregates).toEqual({
      filters: 3,
      silentFilters: 1,
      meanClusterSize: 1.5,
      meanClustersPerFilter: 2,
      fractionWithCluster: 1,
      meanNoise: 2,
      totalSignal: 10,
      totalNoise: 4,
      snr: 2.5,
    });
    expect([afcc.kept, afcc.total, afcc.keptFraction]).toEqual([9 * P, 12 * P, 0.75]);
  });

  it("prints exactly the code's results in every block of the section", () => {
    const a = layer.aggregates;
    const expected = [
      table(M),
      `preferredLabel = ${centred.preferredLabel}   preference = ${centred.preference}`,
      table(centred.normalized),
      table(centred.marks),
      [
        `clusters = ${list(centred.clusters)}`,
        `signal = ${centred.signal}   noise = ${centred.noise}   snr = ${centred.snr}   noiseFree = ${centred.noiseFree}`,
      ].join('\n'),
      [
        table(max.marks),
        `MAX: clusters = ${list(max.clusters)}   signal = ${max.signal}   noise = ${max.noise}   snr = ${max.snr}`,
      ].join('\n'),
      [
        `scales = [${layer.filters.map((f) => f.scale).join(', ')}]   silent = [${layer.filters.map((f) => f.silent).join(', ')}]`,
        `meanClusterSize = ${a.meanClusterSize}   meanClustersPerFilter = ${a.meanClustersPerFilter}   clusteredFraction = ${a.fractionWithCluster}`,
        `meanNoise = ${a.meanNoise}   snr = ${a.snr}   silentFilters = ${a.silentFilters}`,
      ].join('\n'),
      `AFCC: kept = ${afcc.kept / P} * P   total = ${afcc.total / P} * P   keptFraction = ${afcc.keptFraction}`,
    ];
    expect(documentedBlocks()).toEqual(expected);
  });
});
