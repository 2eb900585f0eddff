import { lineChart, niceTicks } from '../../../src/cli/svg-charts.js';
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
