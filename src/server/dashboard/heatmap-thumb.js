// A filter's raw correlation matrix as a small heatmap on a colour scale the caller picks: the
// grid passes one scale for every filter of a layer, so that filters compare by eye. The
// colours are the API's (blue below 0, white at 0, red above); the label indices on the axes
// are named in the grid's key.

import { num, s } from './dom.js';

const BLUE = [33, 102, 172];
const WHITE = [247, 247, 247];
const RED = [178, 24, 43];

/** The diverging colour of `t` in [-1, 1] (clamped). */
export function diverging(t) {
  const x = Number.isFinite(t) ? Math.max(-1, Math.min(1, t)) : 0;
  const end = x < 0 ? BLUE : RED;
  const a = Math.abs(x);
  return `rgb(${WHITE.map((w, i) => Math.round(w + (end[i] - w) * a)).join(',')})`;
}

/** The largest |entry| of `rows`. */
export const maxAbs = (rows) =>
  rows.reduce((m, row) => row.reduce((n, v) => Math.max(n, Math.abs(v)), m), 0);

/**
 * The layer's largest |M| seen from one filter: its `scale` is its own max |M| divided by the
 * layer's, so any filter with a scale above 0 gives it. Null when no filter on the page can.
 */
export function layerMax(filters) {
  for (const f of filters) if (f.scale > 0) return maxAbs(f.correlation.rows) / f.scale;
  return null;
}

/**
 * An SVG heatmap of `rows` (C x C) coloured by value / `scaleMax`; rows are input labels,
 * columns output fields, both numbered 0..C-1. Carries `data-scale-max`.
 */
export function heatmapThumb(rows, names, scaleMax, title) {
  const C = rows.length;
  const size = 200;
  const pad = 22;
  const cell = (size - pad) / Math.max(1, C);
  const step = Math.ceil(C / 12);
  const svg = s('svg', {
    class: 'heatmap thumb',
    viewBox: `0 0 ${size} ${size}`,
    role: 'img',
    'aria-label': title,
    'data-testid': 'heatmap',
    'data-scale-max': String(scaleMax),
  });
  rows.forEach((row, i) =>
    row.forEach((v, j) =>
      svg.append(
        s(
          'rect',
          {
            x: pad + j * cell,
            y: pad + i * cell,
            width: cell + 0.3,
            height: cell + 0.3,
            fill: diverging(v / scaleMax),
          },
          s('title', null, `${names[i] ?? i} → ${names[j] ?? j}: ${num(v, 4)}`),
        ),
      ),
    ),
  );
  for (let k = 0; k < C; k += step)
    svg.append(
      s(
        'text',
        { class: 'thumb-axis', x: pad + (k + 0.5) * cell, y: pad - 6, 'text-anchor': 'middle' },
        k,
      ),
      s(
        'text',
        { class: 'thumb-axis', x: pad - 4, y: pad + (k + 0.5) * cell + 4, 'text-anchor': 'end' },
        k,
      ),
    );
  return svg;
}

/** The shared scale's legend: a gradient from -max to +max with its numbers. */
export function scaleLegend(scaleMax) {
  const stops = [-1, -0.5, 0, 0.5, 1];
  return s(
    'svg',
    {
      class: 'scale-legend',
      width: 300,
      height: 34,
      viewBox: '0 0 300 34',
      'data-testid': 'scale-legend',
      'data-scale-max': String(scaleMax),
    },
    s(
      'defs',
      null,
      s(
        'linearGradient',
        { id: 'shared-scale' },
        stops.map((t, i) => s('stop', { offset: `${i * 25}%`, 'stop-color': diverging(t) })),
      ),
    ),
    s('rect', {
      x: 30,
      y: 2,
      width: 240,
      height: 12,
      fill: 'url(#shared-scale)',
      stroke: '#9aa5b1',
    }),
    stops.map((t, i) =>
      s('text', { x: 30 + i * 60, y: 30, 'text-anchor': 'middle' }, num(t * scaleMax, 3)),
    ),
  );
}
