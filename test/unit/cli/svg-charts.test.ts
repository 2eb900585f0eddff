import { integerTicks, lineChart, niceTicks } from '../../../src/cli/svg-charts.js';
import { escapeXml } from '../../../src/xml.js';

const polylines = (svg: string) =>
  [...svg.matchAll(/<polyline [^>]*points="([^"]*)"/g)].map((m) => m[1]!);
const coords = (points: string) => points.split(' ').map((p) => p.split(',').map(Number));

describe('SVG line chart', () => {
  it('picks round ticks that cover the range', () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.26, 0.335)).toEqual([0.26, 0.28, 0.3, 0.32, 0.34]);
    expect(niceTicks(1, 3, 2)).toEqual([1, 2, 3]);
    expect(niceTicks(5, 5)).toEqual([4.4, 4.6, 4.8, 5, 5.2, 5.4, 5.6]);
    expect(niceTicks(0, 0)).toEqual([-1, -0.5, 0, 0.5, 1]);
    expect(niceTicks(NaN, 1)).toEqual([]);
  });

  it('draws one polyline per series, inside the plot, with higher values higher up', () => {
    const svg = lineChart({
      title: 'SR <per> epoch & "more"',
      xLabel: 'epoch',
      yLabel: 'SR',
      yMin: 0,
      yMax: 1,
      series: [
        {
          name: 'train',
          points: [
            [1, 0.2],
            [2, 0.5],
            [3, 0.9],
          ],
        },
        {
          name: 'test',
          points: [
            [1, 0.1],
            [2, 0.4],
            [3, 0.8],
          ],
          dashed: true,
        },
      ],
    });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('<title>SR &lt;per&gt; epoch &amp; &quot;more&quot;</title>');
    expect(svg).not.toMatch(/<per>/);
    const lines = polylines(svg);
    expect(lines).toHaveLength(2);
    const train = coords(lines[0]!);
    expect(train).toHaveLength(3);
    // x grows to the right, y values grow upwards (smaller pixel y)
    expect(train[0]![0]!).toBeLessThan(train[2]![0]!);
    expect(train[0]![1]!).toBeGreaterThan(train[2]![1]!);
    for (const [x, y] of train) {
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThanOrEqual(640);
      expect(y).toBeGreaterThanOrEqual(0);
      expect(y).toBeLessThanOrEqual(360);
    }
    expect(svg).toContain('stroke-dasharray');
    expect(svg).toContain('>train</text>');
    expect(svg).toContain('>test</text>');
    // x ticks are the epochs, as integers
    for (const epoch of ['1', '2', '3']) expect(svg).toContain(`>${epoch}</text>`);
  });

  it('breaks a line at null values and labels categorical x ticks', () => {
    const svg = lineChart({
      title: 'SNR',
      xLabel: 'layer',
      yLabel: 'SNR',
      xTicks: [
        { value: 1, label: 'conv1' },
        { value: 2, label: 'conv2' },
        { value: 3, label: 'conv3' },
      ],
      series: [
        {
          name: 'snr',
          points: [
            [1, 0.5],
            [2, null],
            [3, 1.5],
          ],
        },
      ],
    });
    expect(polylines(svg)).toHaveLength(2);
    for (const name of ['conv1', 'conv2', 'conv3']) expect(svg).toContain(`>${name}</text>`);
  });

  it('renders a single point and an empty chart without NaN', () => {
    const one = lineChart({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      series: [{ name: 'a', points: [[1, 0.5]] }],
    });
    expect(one).not.toContain('NaN');
    expect(polylines(one)).toHaveLength(1);
    const none = lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [] });
    expect(none).not.toContain('NaN');
    expect(none).toContain('no data');
  });

  it('escapes XML', () => {
    expect(escapeXml(`<a & 'b' "c">`)).toBe('&lt;a &amp; &apos;b&apos; &quot;c&quot;&gt;');
  });
});

describe('SVG line chart: error bars, fixed ranges, counts and crowded labels', () => {
  const bars = (svg: string) =>
    [...svg.matchAll(/<path class="error-bar" d="M([\d.]+) ([\d.]+)V([\d.]+)/g)].map((m) =>
      m.slice(1).map(Number),
    );

  it('draws an error bar of ± the given half-width around each point that has one', () => {
    const svg = lineChart({
      title: 'SR',
      xLabel: 'layer',
      yLabel: 'SR',
      yMin: 0,
      yMax: 1,
      series: [
        {
          name: 'SR',
          points: [
            [1, 0.5],
            [2, 0.6],
            [3, 0.7],
          ],
          errors: [0.1, null, 0.2],
        },
      ],
    });
    const drawn = bars(svg);
    expect(drawn).toHaveLength(2);
    // The plot runs from y = 40 (SR 1) to y = 308 (SR 0): 268 px per unit of SR.
    const [x1, top1, bottom1] = drawn[0]!;
    expect(bottom1! - top1!).toBeCloseTo(0.2 * 268, 0);
    expect(drawn[1]![2]! - drawn[1]![1]!).toBeCloseTo(0.4 * 268, 0);
    expect(x1).toBeLessThan(drawn[1]![0]!);
    // The 0-1 axis is kept whatever the data: its ticks run from 0 to 1.
    expect(svg).toContain('>0.0</text>');
    expect(svg).toContain('>1.0</text>');
  });

  it('widens an automatic range to hold the error bars, and clips bars to a fixed one', () => {
    const auto = lineChart({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      series: [{ name: 'a', points: [[1, 5]], errors: [3] }],
    });
    expect(auto).toContain('>2</text>');
    expect(auto).toContain('>8</text>');
    const fixed = lineChart({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      yMin: 0,
      yMax: 1,
      series: [{ name: 'a', points: [[1, 0.95]], errors: [0.2] }],
    });
    expect(bars(fixed)[0]![1]).toBeGreaterThanOrEqual(40);
  });

  it('puts count ticks on whole numbers only', () => {
    expect(integerTicks(0, 2)).toEqual([0, 1, 2]);
    expect(integerTicks(0, 64).every((t) => Number.isInteger(t))).toBe(true);
    expect(integerTicks(0, 64).at(-1)).toBeGreaterThanOrEqual(64);
    const svg = lineChart({
      title: 'silent',
      xLabel: 'layer',
      yLabel: 'filters',
      yMin: 0,
      integerY: true,
      series: [
        {
          name: 'silent',
          points: [
            [1, 0],
            [2, 2],
          ],
        },
      ],
    });
    expect(svg).not.toMatch(/>\d+\.\d+<\/text>/);
  });

  it('turns crowded category labels so that they do not overlap', () => {
    const xTicks = Array.from({ length: 13 }, (_, i) => ({ value: i + 1, label: `conv${i + 1}` }));
    const svg = lineChart({
      title: 't',
      xLabel: 'layer',
      yLabel: 'y',
      xTicks,
      series: [{ name: 'a', points: xTicks.map((t) => [t.value, t.value]) }],
    });
    expect(svg.match(/rotate\(-40\)" text-anchor="end">conv\d+<\/text>/g)).toHaveLength(13);
    const few = lineChart({
      ...{ title: 't', xLabel: 'l', yLabel: 'y' },
      xTicks: xTicks.slice(0, 3),
      series: [],
    });
    expect(few).not.toContain('rotate(-40)');
  });
});
