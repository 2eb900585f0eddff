// The papers' figure: one quantity against layer depth for several probes, each a coloured line
// whose points carry error bars (the replicates' standard deviation), and optional horizontal
// lines (the full network's SR). Every point carries its numbers in data attributes.

import { niceTicks, xAxisBase } from './charts.js';
import { num, s } from './dom.js';

const MARGIN = { top: 34, right: 20, bottom: 56, left: 64 };

/**
 * `series`: [{ key, name, color, points: [{ x (1-based depth), layer, value, std }], reference }]
 * where `reference` (a number or null) is drawn as a dashed line in the series' colour. `yFrom`
 * fixes the axis' bottom (0 or chance); the top fits the data (and 1 for percentages).
 */
export function layerChart({
  title,
  testid,
  series,
  yFrom = 0,
  yMax,
  percent,
  quantity,
  xNames,
  width = 600,
  height = 320,
}) {
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const values = series.flatMap((line) => [
    ...line.points.filter((p) => typeof p.value === 'number').map((p) => p.value + (p.std ?? 0)),
    ...(typeof line.reference === 'number' ? [line.reference] : []),
  ]);
  const top = yMax ?? Math.max(yFrom + 1e-6, ...values) * 1.08;
  const xMax = Math.max(2, ...series.flatMap((line) => line.points.map((p) => p.x)));
  const x = (v) => MARGIN.left + ((v - 0.5) / xMax) * plotW;
  const y = (v) => MARGIN.top + (1 - (Math.max(v, yFrom) - yFrom) / (top - yFrom)) * plotH;
  const fmt = (v) => (percent ? `${Math.round(v * 1000) / 10}%` : num(v, 3));
  const svg = s(
    'svg',
    {
      class: 'chart layer-chart',
      width,
      height,
      viewBox: `0 0 ${width} ${height}`,
      role: 'img',
      'aria-label': title,
      'data-testid': testid,
      'data-y-from': yFrom,
      'data-quantity': quantity,
    },
    s('text', { class: 'chart-title', x: MARGIN.left, y: 18 }, title),
  );
  // The axis' bottom (0 or chance) always has its label.
  const ticks = niceTicks(yFrom, top, 5).filter((t) => t - yFrom > (top - yFrom) * 0.08);
  for (const t of [yFrom, ...ticks])
    svg.append(
      s('line', { class: 'grid', x1: MARGIN.left, x2: MARGIN.left + plotW, y1: y(t), y2: y(t) }),
      s('text', { class: 'tick', x: MARGIN.left - 6, y: y(t) + 4, 'text-anchor': 'end' }, fmt(t)),
    );
  for (let i = 1; i <= xMax; i++)
    svg.append(
      s(
        'text',
        { class: 'tick', x: x(i), y: MARGIN.top + plotH + 16, 'text-anchor': 'middle' },
        xNames?.[i - 1] ? s('title', null, xNames[i - 1]) : null,
        String(i),
      ),
    );
  svg.append(
    ...xAxisBase(MARGIN, plotW, plotH, 'layer depth (probed layer, 1 = first)', height - 24),
    s(
      'text',
      {
        class: 'axis-label',
        transform: `translate(14 ${MARGIN.top + plotH / 2}) rotate(-90)`,
        'text-anchor': 'middle',
      },
      quantity,
    ),
  );
  series.forEach((line, i) => {
    const group = s('g', { class: 'series', 'data-key': line.key, 'data-series': line.name });
    const shown = line.points.filter((p) => typeof p.value === 'number');
    if (typeof line.reference === 'number')
      group.append(
        s('line', {
          class: 'network-line',
          x1: MARGIN.left,
          x2: MARGIN.left + plotW,
          y1: y(line.reference),
          y2: y(line.reference),
          stroke: line.color,
          'stroke-dasharray': '7 4',
          'data-testid': 'network-sr',
          'data-value': line.reference,
        }),
        s(
          'text',
          {
            class: 'legend',
            x: MARGIN.left + plotW - 4,
            y: y(line.reference) - 4 - i * 13,
            'text-anchor': 'end',
            style: `fill: ${line.color}`,
          },
          `${line.name.split(' ')[0]} network ${fmt(line.reference)}`,
        ),
      );
    if (shown.length > 1)
      group.append(
        s('path', {
          d: shown
            .map((p, k) => `${k ? 'L' : 'M'}${x(p.x).toFixed(1)},${y(p.value).toFixed(1)}`)
            .join(''),
          fill: 'none',
          stroke: line.color,
          'stroke-width': 2,
        }),
      );
    for (const p of shown) group.append(...pointMarks(p, line, { x, y, fmt, quantity }));
    // Legend: one row per series under the title, left to right.
    const lx = MARGIN.left + 8 + (i % 3) * Math.floor(plotW / 3);
    const ly = MARGIN.top + 12 + Math.floor(i / 3) * 16;
    group.append(
      s('rect', { x: lx, y: ly - 9, width: 12, height: 10, fill: line.color }),
      s('text', { class: 'legend', x: lx + 16, y: ly }, line.name.slice(0, 34)),
    );
    svg.append(group);
  });
  return svg;
}

/** A point's circle (its numbers in data attributes) and its error bar when `std` > 0. */
function pointMarks(p, line, { x, y, fmt, quantity }) {
  const std = p.std ?? 0;
  const bar = (x1, x2, y1, y2) =>
    s('line', { class: 'error-bar', x1, x2, y1, y2, stroke: line.color });
  const [cx, lo, hi] = [x(p.x), y(p.value - std), y(p.value + std)];
  return [
    ...(std > 0
      ? [bar(cx, cx, lo, hi), bar(cx - 4, cx + 4, lo, lo), bar(cx - 4, cx + 4, hi, hi)]
      : []),
    s(
      'circle',
      {
        class: 'point',
        cx,
        cy: y(p.value),
        r: 4,
        fill: line.color,
        'data-layer': p.layer,
        'data-x': p.x,
        'data-value': p.value,
        'data-std': p.std ?? '',
      },
      s(
        'title',
        null,
        `${line.name}, ${p.layer}: ${quantity} ${fmt(p.value)}${p.std ? ` ± ${fmt(p.std)}` : ''}`,
      ),
    ),
  ];
}
