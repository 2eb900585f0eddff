// Inline SVG charts: a line chart for per-epoch curves and a bar chart for SR per layer.
// Every mark carries its numbers in data attributes, so tests (and curious readers) can check them.

import { s, num } from './dom.js';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf'];
const MARGIN = { top: 28, right: 16, bottom: 42, left: 52 };

/** About `count` round tick values covering [min, max]. */
export function niceTicks(min, max, count = 5) {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((v) => v >= raw) ?? raw;
  const ticks = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) {
    ticks.push(Number(v.toPrecision(12)));
  }
  return ticks;
}

/**
 * The x axis's baseline under a plot of `plotWidth` x `plotHeight` at `margin`, and its label
 * centred `labelY` from the chart's top.
 */
export function xAxisBase(margin, plotWidth, plotHeight, label, labelY) {
  return [
    s('line', {
      class: 'axis',
      x1: margin.left,
      x2: margin.left + plotWidth,
      y1: margin.top + plotHeight,
      y2: margin.top + plotHeight,
    }),
    s(
      'text',
      { class: 'axis-label', x: margin.left + plotWidth / 2, y: labelY, 'text-anchor': 'middle' },
      label,
    ),
  ];
}

function frame(width, height, title, testid) {
  return s(
    'svg',
    {
      class: 'chart',
      width,
      height,
      viewBox: `0 0 ${width} ${height}`,
      role: 'img',
      'aria-label': title,
      'data-testid': testid,
    },
    s('text', { class: 'chart-title', x: MARGIN.left, y: 16 }, title),
  );
}

function yAxis(svg, ticks, y, plotWidth, format) {
  for (const t of ticks) {
    svg.append(
      s('line', {
        class: 'grid',
        x1: MARGIN.left,
        x2: MARGIN.left + plotWidth,
        y1: y(t),
        y2: y(t),
      }),
      s(
        'text',
        { class: 'tick', x: MARGIN.left - 6, y: y(t) + 4, 'text-anchor': 'end' },
        format(t),
      ),
    );
  }
}

/**
 * A line chart of `series` ([{ name, points: [{ x, y }] }]) over x in [1, xMax] (xMax grows to
 * the data). `yDomain` [min, max] fixes the y range; otherwise it fits the data. The svg carries
 * `data-points` (points of the longest series); each point is a `circle.point` with data-x/data-y.
 */
export function lineChart({
  title,
  series,
  xLabel = 'epoch',
  xMax = 1,
  yDomain,
  yFormat = (v) => num(v, 3),
  width = 520,
  height = 240,
  testid,
}) {
  const svg = frame(width, height, title, testid);
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const plotHeight = height - MARGIN.top - MARGIN.bottom;
  const all = series.flatMap((line) => line.points);
  const xHi = Math.max(xMax, 2, ...all.map((p) => p.x));
  let [yLo, yHi] = yDomain ?? [
    Math.min(...all.map((p) => p.y), Infinity),
    Math.max(...all.map((p) => p.y), -Infinity),
  ];
  if (!Number.isFinite(yLo) || !Number.isFinite(yHi)) [yLo, yHi] = [0, 1];
  if (yHi - yLo < 1e-9) [yLo, yHi] = [yLo - 0.5, yHi + 0.5];
  if (!yDomain) {
    const pad = (yHi - yLo) * 0.08;
    [yLo, yHi] = [Math.max(0, yLo - pad), yHi + pad];
  }
  const x = (v) => MARGIN.left + ((v - 1) / (xHi - 1)) * plotWidth;
  const y = (v) => MARGIN.top + (1 - (v - yLo) / (yHi - yLo)) * plotHeight;

  yAxis(svg, niceTicks(yLo, yHi, 5), y, plotWidth, yFormat);
  const xTicks = niceTicks(1, xHi, Math.min(8, xHi - 1)).filter((t) => Number.isInteger(t));
  for (const t of xTicks) {
    svg.append(
      s(
        'text',
        { class: 'tick', x: x(t), y: MARGIN.top + plotHeight + 16, 'text-anchor': 'middle' },
        t,
      ),
    );
  }
  svg.append(...xAxisBase(MARGIN, plotWidth, plotHeight, xLabel, height - 6));

  series.forEach((line, i) => {
    const color = line.color ?? COLORS[i % COLORS.length];
    const points = [...line.points].sort((a, b) => a.x - b.x);
    const group = s('g', { class: 'series', 'data-series': line.name });
    if (points.length > 1) {
      const d = points
        .map((p, k) => `${k ? 'L' : 'M'}${x(p.x).toFixed(1)},${y(p.y).toFixed(1)}`)
        .join('');
      group.append(
        s('path', {
          d,
          fill: 'none',
          stroke: color,
          'stroke-width': 2,
          'stroke-dasharray': line.dashed ? '5 3' : null,
        }),
      );
    }
    for (const p of points) {
      group.append(
        s(
          'circle',
          {
            class: 'point',
            cx: x(p.x),
            cy: y(p.y),
            r: 3,
            fill: color,
            'data-x': p.x,
            'data-y': p.y,
          },
          s('title', null, `${line.name}, ${xLabel} ${p.x}: ${yFormat(p.y)}`),
        ),
      );
    }
    // Legend, top right, one entry per series.
    const lx = MARGIN.left + plotWidth - (series.length - i) * 96 + 8;
    group.append(
      s('line', {
        x1: lx,
        x2: lx + 16,
        y1: 12,
        y2: 12,
        stroke: color,
        'stroke-width': 2,
        'stroke-dasharray': line.dashed ? '5 3' : null,
      }),
      s('text', { class: 'legend', x: lx + 20, y: 16 }, line.name),
    );
    svg.append(group);
  });
  svg.setAttribute('data-points', String(Math.max(0, ...series.map((line) => line.points.length))));
  return svg;
}

/**
 * One bar per entry of `bars` ([{ label, value|null, note? }]) on a [0, yMax] axis; a null value
 * is a dashed empty slot (not measured yet) with its `note` if any. `reference` draws a dashed
 * horizontal line (e.g. the full network's test SR). Bars are `rect[data-testid=<barTestid>]`
 * with `data-layer` and `data-value` holding the exact value (`data-sr` too for SR charts).
 * Defaults suit SR: yMax 1, percentages.
 */
export function barChart({
  title,
  bars,
  reference,
  referenceLabel,
  yMax = 1,
  percent = true,
  quantity = 'SR',
  barTestid = 'sr-bar',
  pendingTestid = 'sr-pending',
  width = 520,
  height = 260,
  testid,
}) {
  const svg = frame(width, height, title, testid);
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const plotHeight = height - MARGIN.top - MARGIN.bottom;
  const top = yMax > 0 ? yMax : 1;
  const y = (v) => MARGIN.top + (1 - Math.min(v, top) / top) * plotHeight;
  const label = (v) => (percent ? (v * 100).toFixed(1) : num(v, 3));
  const ticks = percent ? [0, 0.25, 0.5, 0.75, 1].map((f) => f * top) : niceTicks(0, top, 4);
  yAxis(svg, ticks, y, plotWidth, (v) => (percent ? `${Math.round(v * 100)}%` : num(v, 3)));
  const slot = plotWidth / Math.max(1, bars.length);
  const barWidth = Math.min(56, slot * 0.7);
  bars.forEach((bar, i) => {
    const cx = MARGIN.left + slot * (i + 0.5);
    const x = cx - barWidth / 2;
    const tick = s(
      'text',
      { class: 'tick', x: cx, y: MARGIN.top + plotHeight + 16, 'text-anchor': 'middle' },
      bar.label,
    );
    if (typeof bar.value !== 'number') {
      svg.append(
        s('rect', {
          class: 'bar pending',
          x,
          y: MARGIN.top,
          width: barWidth,
          height: plotHeight,
          'data-testid': pendingTestid,
          'data-layer': bar.label,
        }),
        bar.note
          ? s(
              'text',
              { class: 'bar-note', x: cx, y: MARGIN.top + plotHeight / 2, 'text-anchor': 'middle' },
              bar.note,
            )
          : null,
        tick,
      );
      return;
    }
    const barHeight = Math.max(0, y(0) - y(bar.value));
    // The value sits inside the bar when it fits, clear of any reference line above it.
    const inside = barHeight > 20;
    svg.append(
      s(
        'rect',
        {
          class: 'bar',
          x,
          y: y(bar.value),
          width: barWidth,
          height: barHeight,
          'data-testid': barTestid,
          'data-layer': bar.label,
          'data-value': String(bar.value),
          'data-sr': quantity === 'SR' ? String(bar.value) : null,
        },
        s(
          'title',
          null,
          `${bar.label}: ${quantity} ${percent ? `${(bar.value * 100).toFixed(2)}%` : num(bar.value, 4)}`,
        ),
      ),
      s(
        'text',
        {
          class: inside ? 'bar-value inside' : 'bar-value',
          x: cx,
          y: inside ? y(bar.value) + 14 : y(bar.value) - 4,
          'text-anchor': 'middle',
        },
        label(bar.value),
      ),
      tick,
    );
  });
  if (typeof reference === 'number') {
    svg.append(
      s('line', {
        class: 'reference',
        x1: MARGIN.left,
        x2: MARGIN.left + plotWidth,
        y1: y(reference),
        y2: y(reference),
      }),
      s(
        'text',
        { class: 'legend', x: MARGIN.left + plotWidth, y: y(reference) - 4, 'text-anchor': 'end' },
        referenceLabel ?? '',
      ),
    );
  }
  svg.append(
    s('line', { class: 'axis', x1: MARGIN.left, x2: MARGIN.left + plotWidth, y1: y(0), y2: y(0) }),
    s(
      'text',
      {
        class: 'axis-label',
        x: MARGIN.left + plotWidth / 2,
        y: height - 6,
        'text-anchor': 'middle',
      },
      'probed layer',
    ),
  );
  svg.setAttribute('data-bars', String(bars.filter((bar) => typeof bar.value === 'number').length));
  return svg;
}
