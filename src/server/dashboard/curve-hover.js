// Hover values and drag-to-zoom for the charts of curves.js: a cursor line with each series'
// value at the nearest x (raw, and smoothed when smoothing is on), and a brush that zooms.

import { num, s } from './dom.js';

/** The margins of curves.js' charts (shared so both place things alike). */
export const MARGIN = { top: 30, right: 16, bottom: 44, left: 60 };

/** Hover values and drag-to-zoom on the plot area. */
export function interact(svg, { lines, x, x0, x1, plotW, plotH, yFormat, xLabel, onZoom }) {
  const toX = (event) => {
    const box = svg.getBoundingClientRect();
    const px = ((event.clientX - box.left) / box.width) * svg.viewBox.baseVal.width;
    return (
      x0 +
      ((Math.min(Math.max(px, MARGIN.left), MARGIN.left + plotW) - MARGIN.left) / plotW) * (x1 - x0)
    );
  };
  const cursor = s('line', {
    class: 'cursor',
    y1: MARGIN.top,
    y2: MARGIN.top + plotH,
    visibility: 'hidden',
  });
  const tip = s('g', { class: 'hover', visibility: 'hidden', 'data-testid': 'hover' });
  const brush = s('rect', {
    class: 'brush',
    y: MARGIN.top,
    height: plotH,
    width: 0,
    visibility: 'hidden',
  });
  const surface = s('rect', {
    class: 'surface',
    x: MARGIN.left,
    y: MARGIN.top,
    width: plotW,
    height: plotH,
  });
  svg.append(cursor, brush, surface, tip);
  let dragFrom = null;
  surface.addEventListener('mousedown', (event) => {
    dragFrom = toX(event);
    event.preventDefault();
  });
  surface.addEventListener('mouseleave', () => {
    cursor.setAttribute('visibility', 'hidden');
    tip.setAttribute('visibility', 'hidden');
  });
  surface.addEventListener('mousemove', (event) => {
    const at = toX(event);
    if (dragFrom !== null) {
      const [a, b] = [Math.min(dragFrom, at), Math.max(dragFrom, at)];
      Object.entries({ x: x(a), width: x(b) - x(a), visibility: 'visible' }).forEach(([k, v]) =>
        brush.setAttribute(k, v),
      );
    }
    showTip(at);
  });
  surface.addEventListener('mouseup', (event) => {
    const at = toX(event);
    const from = dragFrom;
    dragFrom = null;
    brush.setAttribute('visibility', 'hidden');
    if (from !== null && Math.abs(x(at) - x(from)) > 6)
      onZoom?.([Math.min(from, at), Math.max(from, at)]);
  });
  function showTip(at) {
    const rows = [];
    for (const line of lines) {
      let best = null;
      line.points.forEach((p, i) => {
        if (!best || Math.abs(p.x - at) < Math.abs(best.p.x - at)) best = { p, i };
      });
      if (best) rows.push({ line, p: best.p, smoothed: line.shown[best.i] });
    }
    if (rows.length === 0) return;
    const cx = x(rows[0].p.x);
    cursor.setAttribute('x1', cx);
    cursor.setAttribute('x2', cx);
    cursor.setAttribute('visibility', 'visible');
    const text = rows.map(
      (r) =>
        `${r.line.name}: ${yFormat(r.p.y)}${r.smoothed && r.smoothed.y !== r.p.y ? ` (smoothed ${yFormat(r.smoothed.y)})` : ''}`,
    );
    const header = `${xLabel} ${num(rows[0].p.x, 6)}`;
    const w = 12 + 6.8 * Math.max(header.length, ...text.map((t) => t.length));
    const left = cx + w + 12 > MARGIN.left + plotW ? cx - w - 8 : cx + 8;
    tip.replaceChildren(
      s('rect', { x: left, y: MARGIN.top + 4, width: w, height: 20 + 16 * text.length, rx: 4 }),
      s('text', { x: left + 6, y: MARGIN.top + 19, class: 'hover-head' }, header),
      ...text.map((t, i) =>
        s('text', { x: left + 6, y: MARGIN.top + 35 + 16 * i, fill: rows[i].line.color }, t),
      ),
    );
    tip.setAttribute('visibility', 'visible');
    tip.setAttribute('data-x', rows[0].p.x);
  }
}
