// The controls shared by every view with curves (smoothing, log scale for loss, zoom reset), and
// the colour of each run, stable across views and reloads.

import { h } from './dom.js';

const PALETTE = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#9467bd',
  '#ff7f0e',
  '#17becf',
  '#8c564b',
  '#e377c2',
  '#bcbd22',
  '#7f7f7f',
];

/**
 * A run's colour, from its number (runs 1-10 get ten different colours, and so on): the same run
 * has the same colour in every view and after a reload. Works for any global id (probes too).
 */
export function runColor(id) {
  let key;
  try {
    key = Number(atob(String(id).replace(/-/g, '+').replace(/_/g, '/')).split(':')[1]);
  } catch {
    key = NaN;
  }
  if (!Number.isInteger(key))
    key = [...String(id)].reduce((a, c) => (a * 31 + c.charCodeAt(0)) >>> 0, 0);
  return PALETTE[(key + PALETTE.length - 1) % PALETTE.length];
}

/** The i-th colour of the palette (series that are not runs). */
export const seriesColor = (i) => PALETTE[i % PALETTE.length];

/**
 * Smoothing slider, log-scale checkbox and a zoom reset, acting on `view` ({ smoothing, log,
 * zoom }); `onChange()` redraws. The zoom itself is set by dragging across a chart.
 */
export function curveControls(view, onChange) {
  const value = h('output', { 'data-testid': 'smoothing-value' }, view.smoothing.toFixed(2));
  const slider = h('input', {
    type: 'range',
    min: '0',
    max: '0.99',
    step: '0.01',
    value: String(view.smoothing),
    'data-testid': 'smoothing',
    'aria-label': 'smoothing',
    oninput: () => {
      view.smoothing = Number(slider.value);
      value.textContent = view.smoothing.toFixed(2);
      onChange();
    },
  });
  const log = h('input', {
    type: 'checkbox',
    checked: view.log,
    'data-testid': 'log-scale',
    onchange: () => {
      view.log = log.checked;
      onChange();
    },
  });
  const reset = h(
    'button',
    {
      type: 'button',
      'data-testid': 'zoom-reset',
      onclick: () => {
        view.zoom = null;
        onChange();
      },
    },
    'Reset zoom',
  );
  return h(
    'div',
    { class: 'curve-controls', 'data-testid': 'curve-controls' },
    h('label', null, 'Smoothing ', slider, ' ', value),
    h('label', null, log, ' log scale (loss)'),
    reset,
    h('span', { class: 'muted' }, 'Drag across a chart to zoom; hover for values.'),
  );
}

/** Seconds as `1h 02m`, `3m 05s` or `12s`; a dash for null. */
export function seconds(total) {
  if (typeof total !== 'number' || !Number.isFinite(total)) return '–';
  const t = Math.max(0, Math.round(total));
  const hh = Math.floor(t / 3600);
  const mm = Math.floor((t % 3600) / 60);
  const ss = t % 60;
  if (hh > 0) return `${hh}h ${String(mm).padStart(2, '0')}m`;
  return mm > 0 ? `${mm}m ${String(ss).padStart(2, '0')}s` : `${ss}s`;
}
