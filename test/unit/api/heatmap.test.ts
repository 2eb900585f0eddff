import { filterMetrics } from '../../../src/analysis/metrics.js';
import { divergingColor, renderHeatmap } from '../../../src/api/probe/heatmap.js';
import { clusterKeys, runsOf } from '../../../src/api/probe/heatmap-parts.js';
import { escapeXml } from '../../../src/xml.js';
import { CATALOG } from '../../../src/data/catalog.js';

/** Checks that every tag is closed in order (a small well-formedness test). */
function balanced(svg: string): boolean {
  const stack: string[] = [];
  for (const match of svg.matchAll(/<(\/?)([A-Za-z][\w-]*)[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = match;
    if (selfClosing) continue;
    if (closing) {
      if (stack.pop() !== name) return false;
    } else stack.push(name!);
  }
  return stack.length === 0;
}

/** The fills of the cells in `<g class="cells">`, row-major. */
const cellFills = (svg: string): string[] =>
  [
    ...svg
      .split('<g class="cells">')[1]!
      .split('</g>')[0]!
      .matchAll(/<rect x="[\d.]+" y="[\d.]+" width="\d+" height="\d+" fill="(#[0-9a-f]{6})"/g),
  ].map((m) => m[1]!);

const marksOf = (svg: string): [number, number][] =>
  [...svg.matchAll(/<circle class="mark" data-row="(\d+)" data-column="(\d+)"/g)].map((m) => [
    Number(m[1]),
    Number(m[2]),
  ]);

const clustersOf = (svg: string): number[][] =>
  [...svg.matchAll(/<g class="cluster" data-labels="([\d,]+)">/g)].map((m) =>
    m[1]!.split(',').map(Number),
  );

const FASHION = [...CATALOG.find((d) => d.name === 'fashion-mnist')!.labelNames];

/** A deep filter as the issue describes it: one bright column (Trouser), clusters {Trouser}, {Coat, Shirt}. */
function trouserFilter(): Float32Array {
  const C = 10;
  const M = new Float32Array(C * C);
  let s = 3;
  const rnd = () => (s = (s * 16807) % 2147483647) / 2147483647;
  for (let i = 0; i < C; i++)
    for (let j = 0; j < C; j++) M[i * C + j] = (j === 1 ? 8 : 0) + rnd() * 1.5 - 0.75;
  M[1 * C + 1]! += 6;
  for (const [i, j] of [
    [4, 4],
    [6, 6],
    [4, 6],
    [6, 4],
  ] as const)
    M[i * C + j]! += 4;
  M[2 * C + 4]! += 3;
  M[9 * C + 7]! += 3;
  return M;
}

describe('renderHeatmap, RAW view', () => {
  const labels = ['cat', 'dog <&>', 'bird'];
  const values = [1, 0, -0.5, 0.25, 2, 0, -2, 0, 0.5];
  const svg = renderHeatmap({ values, labels, title: 'conv1 filter 3', view: 'RAW' });

  it('is a standalone, well-formed SVG with a title', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('<title>conv1 filter 3</title>');
    expect(svg).toContain('raw matrix M (logit units)');
    expect(balanced(svg)).toBe(true);
  });

  it('names the labels on both axes, escaped', () => {
    expect(svg.match(/dog &lt;&amp;&gt;<\/text>/g)).toHaveLength(2);
    expect(svg).not.toContain('dog <&>');
    for (const name of ['cat', 'bird'])
      expect(svg.match(new RegExp(`>${name}</text>`, 'g'))).toHaveLength(2);
  });

  it('draws one cell per raw entry, row = input label, on a diverging scale about 0', () => {
    const fills = cellFills(svg);
    expect(fills).toHaveLength(9);
    // Row 1, column 1 holds the largest |value| (2): full red; row 2, column 0 holds -2: full blue.
    expect(fills[4]).toBe(divergingColor(1));
    expect(fills[6]).toBe(divergingColor(-1));
    expect(fills[1]).toBe(divergingColor(0));
    expect(svg).toContain('>-2</text>');
  });

  it('has no marks and no cluster outlines', () => {
    expect(marksOf(svg)).toEqual([]);
    expect(clustersOf(svg)).toEqual([]);
  });
});

describe('renderHeatmap, NORMALIZED view (the default)', () => {
  const values = trouserFilter();
  const metrics = filterMetrics(values);
  const svg = renderHeatmap({ values, labels: FASHION, title: 'conv5 filter 17' });

  it('shows what its SNR counts: the normalised matrix, a dot per mark, an outline per cluster', () => {
    expect(balanced(svg)).toBe(true);
    expect(svg).toContain('class="heatmap normalized"');
    expect(metrics.clusters).toEqual([[1], [4, 6]]);
    const marks = marksOf(svg);
    expect(marks).toHaveLength(metrics.markCount);
    for (const [i, j] of marks) expect(metrics.marks[i * 10 + j]).toBe(1);
    expect(clustersOf(svg)).toEqual(metrics.clusters);
    expect(svg).toContain(
      `${metrics.markCount} marks: signal ${metrics.signal}, noise ${metrics.noise}, SNR 2.5; 2 clusters`,
    );
    expect(svg).toContain('{Coat, Shirt}');
  });

  it('colours N, not M: the bright Trouser column of M is gone', () => {
    const fills = cellFills(svg);
    expect(fills).toHaveLength(100);
    const raw = cellFills(renderHeatmap({ values, labels: FASHION, title: 't', view: 'RAW' }));
    // In M every row's Trouser cell is deep red; in N only Trouser's own row is.
    const trouserColumn = (f: string[]) => FASHION.map((_, i) => f[i * 10 + 1]);
    expect(new Set(trouserColumn(raw)).size).toBeGreaterThan(1);
    expect(trouserColumn(raw).every((c) => c !== divergingColor(0))).toBe(true);
    const N = metrics.normalized;
    for (let q = 0; q < 100; q++) expect(fills[q]).toBe(divergingColor(N[q]!));
  });

  it("names Fashion-MNIST's labels on both axes and draws a legend with the threshold", () => {
    for (const name of ['T-shirt/top', 'Ankle boot', 'Sandal'])
      expect(svg.match(new RegExp(`>${name}</text>`, 'g'))).toHaveLength(2);
    expect(svg).toContain('url(#diverging)');
    expect(svg).toContain('>threshold</text>');
  });

  it("follows the filter's threshold and normalization", () => {
    for (const [threshold, normalization] of [
      [0.6, 'COLUMN_CENTERED'],
      [0.1, 'MAX'],
      [3, 'NONE'],
    ] as const) {
      const m = filterMetrics(values, { threshold, normalization });
      const other = renderHeatmap({
        values,
        labels: FASHION,
        title: 't',
        threshold,
        normalization,
        silent: true,
      });
      expect(marksOf(other)).toHaveLength(m.markCount);
      expect(clustersOf(other)).toEqual(m.clusters);
      expect(other).toContain(`(${normalization})`);
      expect(other).toContain('(silent filter)');
      expect(balanced(other)).toBe(true);
    }
  });

  it('outlines a cluster of labels that are not neighbours with one rectangle per pair of runs', () => {
    expect(runsOf([6, 3, 4])).toEqual([
      [3, 4],
      [6, 6],
    ]);
    const block = svg.split('<g class="cluster" data-labels="4,6">')[1]!.split('</g>')[0]!;
    expect(block.match(/fill="none"/g)).toHaveLength(4);
  });

  it('lays the cluster key out in rows that fit, summing up what does not', () => {
    const many = Array.from({ length: 10 }, (_, k) => [k]);
    const rows = clusterKeys(many, FASHION, 100, 400);
    expect(rows.length).toBeGreaterThan(1);
    expect(rows.flat().map((k) => k.cluster)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const row of rows) expect(row[0]!.x).toBe(100);
    const capped = clusterKeys(many, FASHION, 100, 400, 2);
    expect(capped).toHaveLength(2);
    const last = capped[1]!.at(-1)!;
    expect(last.cluster).toBe(-1);
    expect(last.text).toBe(`and ${10 - (capped.flat().length - 1)} more`);
    // Every cluster of a filter with many of them is named in its SVG, in one row or more.
    const M = new Float32Array(100);
    for (let i = 0; i < 10; i++) M[i * 10 + i] = 1;
    const svg = renderHeatmap({ values: M, labels: FASHION, title: 'diagonal' });
    expect(clustersOf(svg)).toHaveLength(10);
    for (const name of FASHION) expect(svg).toContain(`>{${escapeXml(name)}}</text>`);
  });

  it('handles an all-zero matrix (no marks) and rejects a wrong size', () => {
    const zero = renderHeatmap({ values: new Float32Array(4), labels: ['a', 'b'], title: 't' });
    expect(cellFills(zero)).toEqual(Array(4).fill(divergingColor(0)));
    expect(marksOf(zero)).toEqual([]);
    expect(() => renderHeatmap({ values: [1, 2, 3], labels: ['a', 'b'], title: 't' })).toThrow(
      RangeError,
    );
  });
});

describe('colours', () => {
  it('are blue below 0, white at 0 and red above', () => {
    expect(divergingColor(0)).toBe('#f7f7f7');
    expect(divergingColor(1)).toBe('#b2182b');
    expect(divergingColor(-1)).toBe('#2166ac');
    expect(divergingColor(5)).toBe(divergingColor(1));
    expect(divergingColor(Number.NaN)).toBe(divergingColor(0));
  });

  it('escapes XML special characters', () => {
    expect(escapeXml(`a<b>&"c'`)).toBe('a&lt;b&gt;&amp;&quot;c&apos;');
  });
});
