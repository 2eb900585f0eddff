// Interactive curves: several series on one x axis, with smoothing, a log scale, drag-to-zoom and
// hover values. Every series carries its raw point count (data-points) so tests can compare it
// with the API; the svg carries its scale (data-log, data-zoom).

import { num, s } from './dom.js';
import { niceTicks, xAxisBase } from './charts.js';
import { interact, MARGIN } from './curve-hover.js';

/**
 * Exponential moving average with TensorBoard's debiasing: `weight` 0 keeps the points, 0.99
 * smooths hard. Points are [{ x, y }] sorted by x; returns new points.
 */
export function smooth(points, weight) {
  if (!(weight > 0)) return points;
  let last = 0;
  let debias = 0;
  return points.map((p) => {
    last = last * weight + (1 - weight) * p.y;
    debias = debias * weight + (1 - weight);
    return { x: p.x, y: last / debias };
  });
}

/** Log10 ticks (1, 2, 5 per decade when few decades) covering [lo, hi], both > 0. */
function logTicks(lo, hi) {
  const ticks = [];
  const decades = Math.log10(hi) - Math.log10(lo);
  const steps = decades < 2 ? [1, 2, 5] : [1];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++)
    for (const m of steps) {
      const v = m * 10 ** e;
      if (v >= lo && v <= hi) ticks.push(Number(v.toPrecision(6)));
    }
  // Less than a decade: round linear ticks, placed on the log axis all the same.
  return ticks.length >= 3 ? ticks : niceTicks(lo, hi, 4).filter((t) => t > 0);
}

/** The x and y domains of the visible points; y padded, positive on a log scale. */
function domains(series, zoom, log, xRange) {
  const all = series.flatMap((line) => line.shown);
  const xs = [...all.map((p) => p.x), ...(xRange ?? [])];
  let [x0, x1] = zoom ?? [Math.min(...xs, Infinity), Math.max(...xs, -Infinity)];
  if (!Number.isFinite(x0) || !Number.isFinite(x1)) [x0, x1] = [0, 1];
  if (x1 - x0 < 1e-9) [x0, x1] = [x0 - 0.5, x1 + 0.5];
  // Unzoomed, a little room either side so the end points are not cut in half.
  if (!zoom) [x0, x1] = [x0 - (x1 - x0) * 0.02, x1 + (x1 - x0) * 0.02];
  const ys = all.filter((p) => p.x >= x0 && p.x <= x1 && (!log || p.y > 0)).map((p) => p.y);
  let [y0, y1] = [Math.min(...ys, Infinity), Math.max(...ys, -Infinity)];
  if (!Number.isFinite(y0)) [y0, y1] = log ? [0.1, 1] : [0, 1];
  if (log) {
    const pad = (Math.log10(y1) - Math.log10(y0)) * 0.06 || 0.1;
    return [x0, x1, 10 ** (Math.log10(y0) - pad), 10 ** (Math.log10(y1) + pad)];
  }
  if (y1 - y0 < 1e-9) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const pad = (y1 - y0) * 0.06;
  return [x0, x1, y0 >= 0 ? Math.max(0, y0 - pad) : y0 - pad, y1 + pad];
}

/**
 * A chart of `series` ([{ key, name, color, dashed, points: [{ x, y }], marks }]): `marks` draws
 * a circle per point (for few points, e.g. epochs). `xRange` [min, max] widens the x axis to
 * at least that (e.g. every epoch planned) while not zoomed. `view` = { smoothing, log, zoom: [x0, x1] |
 * null }; a drag across the plot calls `onZoom([x0, x1])`. Hovering shows each series' value at
 * the nearest x (raw, and smoothed when smoothing is on).
 */
export function curveChart({
  title,
  testid,
  series,
  view = { smoothing: 0, log: false, zoom: null },
  onZoom,
  xLabel = 'step',
  xRange,
  yFormat = (v) => num(v, 3),
  width = 560,
  height = 280,
}) {
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const lines = series.map((line) => {
    const points = [...line.points].sort((a, b) => a.x - b.x);
    return { ...line, points, shown: smooth(points, view.smoothing) };
  });
  const [x0, x1, y0, y1] = domains(lines, view.zoom, view.log, xRange);
  const fy = view.log ? (v) => Math.log10(Math.max(v, 1e-12)) : (v) => v;
  const x = (v) => MARGIN.left + ((v - x0) / (x1 - x0)) * plotW;
  const y = (v) => MARGIN.top + (1 - (fy(v) - fy(y0)) / (fy(y1) - fy(y0))) * plotH;
  const svg = s('svg', {
    class: 'chart curves',
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'aria-label': title,
    'data-testid': testid,
    'data-log': String(Boolean(view.log)),
    'data-zoom': view.zoom ? view.zoom.map((v) => num(v, 6)).join(',') : '',
    'data-series-count': lines.length,
  });
  const clipId = `clip-${testid}-${Math.random().toString(36).slice(2, 8)}`;
  svg.append(
    s(
      'defs',
      null,
      s(
        'clipPath',
        { id: clipId },
        s('rect', { x: MARGIN.left, y: MARGIN.top, width: plotW, height: plotH }),
      ),
    ),
    s('text', { class: 'chart-title', x: MARGIN.left, y: 18 }, title),
  );
  const yTicks = view.log ? logTicks(y0, y1) : niceTicks(y0, y1, 5);
  for (const t of yTicks)
    svg.append(
      s('line', { class: 'grid', x1: MARGIN.left, x2: MARGIN.left + plotW, y1: y(t), y2: y(t) }),
      s(
        'text',
        { class: 'tick', x: MARGIN.left - 6, y: y(t) + 4, 'text-anchor': 'end' },
        yFormat(t),
      ),
    );
  // Steps and epochs are whole numbers: no tick between two of them.
  for (const t of niceTicks(x0, x1, 6).filter((t) => t >= x0 && t <= x1 && Number.isInteger(t)))
    svg.append(
      s(
        'text',
        { class: 'tick', x: x(t), y: MARGIN.top + plotH + 16, 'text-anchor': 'middle' },
        num(t, 6),
      ),
    );
  svg.append(...xAxisBase(MARGIN, plotW, plotH, xLabel, height - 6));
  const plot = s('g', { 'clip-path': `url(#${clipId})` });
  svg.append(plot);
  const path = (points) =>
    points
      .filter((p) => !view.log || p.y > 0)
      .map((p, k) => `${k ? 'L' : 'M'}${x(p.x).toFixed(1)},${y(p.y).toFixed(1)}`)
      .join('');
  for (const line of lines) {
    const group = s('g', {
      class: 'series',
      'data-series': line.name,
      'data-key': line.key ?? line.name,
      'data-points': line.points.length,
    });
    if (view.smoothing > 0 && line.points.length > 1)
      group.append(
        s('path', { d: path(line.points), class: 'raw', stroke: line.color, fill: 'none' }),
      );
    if (line.shown.length > 1)
      group.append(
        s('path', {
          d: path(line.shown),
          fill: 'none',
          stroke: line.color,
          'stroke-width': 2,
          'stroke-dasharray': line.dashed ? '6 3' : null,
        }),
      );
    if (line.marks || line.points.length === 1)
      for (const p of line.points)
        group.append(
          s('circle', {
            class: 'point',
            cx: x(p.x),
            cy: y(p.y),
            r: 3,
            fill: line.color,
            'data-x': p.x,
            'data-y': p.y,
          }),
        );
    plot.append(group);
  }
  svg.setAttribute('data-points', String(Math.max(0, ...lines.map((line) => line.points.length))));
  legend(svg, lines, width);
  interact(svg, { lines, x, x0, x1, plotW, plotH, yFormat, xLabel, onZoom });
  return svg;
}

/** One entry per series along the top, right-aligned, wrapping to the left. */
function legend(svg, lines, width) {
  let right = width - MARGIN.right;
  for (const line of [...lines].reverse()) {
    const w = 26 + Math.min(24, line.name.length) * 6.6;
    const lx = right - w;
    svg.append(
      s('line', {
        x1: lx,
        x2: lx + 16,
        y1: 13,
        y2: 13,
        stroke: line.color,
        'stroke-width': 2.5,
        'stroke-dasharray': line.dashed ? '6 3' : null,
      }),
      s('text', { class: 'legend', x: lx + 20, y: 17 }, line.name.slice(0, 24)),
    );
    right = lx - 6;
    if (right < MARGIN.left + 120) break;
  }
}
