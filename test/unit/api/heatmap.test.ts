import { divergingColor, renderHeatmap } from '../../../src/api/probe/heatmap.js';
import { escapeXml } from '../../../src/xml.js';

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

describe('renderHeatmap', () => {
  const labels = ['cat', 'dog <&>', 'bird'];
  const values = [1, 0, -0.5, 0.25, 2, 0, -2, 0, 0.5];
  const svg = renderHeatmap({ values, labels, title: 'conv1 filter 3' });

  it('is a standalone, well-formed SVG with a title', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('<title>conv1 filter 3</title>');
    expect(balanced(svg)).toBe(true);
  });

  it('names the labels on both axes, escaped', () => {
    expect(svg.match(/dog &lt;&amp;&gt;<\/text>/g)).toHaveLength(2);
    expect(svg).not.toContain('dog <&>');
    for (const name of ['cat', 'bird'])
      expect(svg.match(new RegExp(`>${name}</text>`, 'g'))).toHaveLength(2);
  });

  it('draws one cell per entry, row = input label, on a diverging scale about 0', () => {
    const cells = [
      ...svg.matchAll(/<rect x="(\d+)" y="(\d+)" width="18" height="18" fill="(#[0-9a-f]{6})"/g),
    ];
    expect(cells).toHaveLength(9);
    // Row 1, column 1 holds the largest |value| (2): full red; row 2, column 0 holds -2: full blue.
    expect(cells[4]![3]).toBe(divergingColor(1));
    expect(cells[6]![3]).toBe(divergingColor(-1));
    expect(cells[1]![3]).toBe(divergingColor(0));
    expect(Number(cells[1]![1])).toBeGreaterThan(Number(cells[0]![1]));
    expect(cells[1]![2]).toBe(cells[0]![2]);
    expect(Number(cells[3]![2])).toBeGreaterThan(Number(cells[0]![2]));
  });

  it('colours blue below 0, white at 0 and red above', () => {
    expect(divergingColor(0)).toBe('#f7f7f7');
    expect(divergingColor(1)).toBe('#b2182b');
    expect(divergingColor(-1)).toBe('#2166ac');
    expect(divergingColor(5)).toBe(divergingColor(1));
    expect(divergingColor(Number.NaN)).toBe(divergingColor(0));
  });

  it('handles an all-zero matrix and rejects a wrong size', () => {
    const zero = renderHeatmap({ values: new Float32Array(4), labels: ['a', 'b'], title: 't' });
    expect(zero.match(/fill="#f7f7f7"/g)!.length).toBeGreaterThanOrEqual(4);
    expect(() => renderHeatmap({ values: [1, 2, 3], labels: ['a', 'b'], title: 't' })).toThrow(
      RangeError,
    );
  });

  it('escapes XML special characters', () => {
    expect(escapeXml(`a<b>&"c'`)).toBe('a&lt;b&gt;&amp;&quot;c&apos;');
  });
});
