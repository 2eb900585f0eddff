import { escapeXml } from '../xml.js';
/**
 * A tiny standalone SVG line chart (no dependency): axes with "nice" ticks, one polyline with
 * markers per series, optional error bars, a legend. Null or non-finite y values break a line.
 */

export interface Series {
  readonly name: string;
  /** [x, y] pairs; y null (or not finite) leaves a gap. */
  readonly points: readonly (readonly [number, number | null])[];
  readonly dashed?: boolean;
  /** Half-widths of error bars (e.g. a standard deviation), one per point; null: no bar. */
  readonly errors?: readonly (number | null)[];
}

export interface LineChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  /** Tick labels at given x values (categories such as layer names); default: numeric ticks. */
  readonly xTicks?: readonly { readonly value: number; readonly label: string }[];
  /** Fixed y range (e.g. 0 and 1 for success rates); default: the data's, widened to nice ticks. */
  readonly yMin?: number;
  readonly yMax?: number;
  /** Counts: y ticks at whole numbers only. */
  readonly integerY?: boolean;
  /** Pixels; default 640 x 360. */
  readonly width?: number;
  readonly height?: number;
}

const COLOURS = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#17becf',
];

/** About `count` round tick values (steps of 1, 2 or 5 times a power of 10) covering [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (max < min) [min, max] = [max, min];
  if (max === min) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    min -= pad;
    max += pad;
  }
  const rough = (max - min) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = ([1, 2, 5, 10].find((m) => m * power >= rough) ?? 10) * power;
  const start = Math.floor(min / step + 1e-9);
  const end = Math.ceil(max / step - 1e-9);
  const ticks: number[] = [];
  for (let k = start; k <= end; k++) ticks.push(Number((k * step).toPrecision(12)));
  return ticks;
}

/** Whole-number ticks covering [min, max], about 6 of them. */
export function integerTicks(min: number, max: number): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  const low = Math.floor(Math.min(min, max));
  const high = Math.max(Math.ceil(Math.max(min, max)), low + 1);
  const step = Math.max(1, niceTicks(low, high)[1]! - niceTicks(low, high)[0]!);
  const ticks: number[] = [];
  for (let t = Math.floor(low / step) * step; t < high + step; t += step) ticks.push(t);
  return ticks;
}

function label(value: number, step: number): string {
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
  return value.toFixed(decimals);
}

const f1 = (n: number) => Number(n.toFixed(1)).toString();

/** A vertical bar from y - e to y + e with caps, for each point that has an error. */
function errorBars(
  series: Series,
  colour: string,
  px: (x: number) => number,
  py: (y: number) => number,
): string[] {
  const out: string[] = [];
  series.points.forEach(([x, y], i) => {
    const e = series.errors?.[i];
    if (!Number.isFinite(x) || y === null || !Number.isFinite(y) || e == null) return;
    if (!Number.isFinite(e)) return;
    const cx = px(x);
    const [top, bottom] = [f1(py(y + Math.abs(e))), f1(py(y - Math.abs(e)))];
    out.push(
      `<path class="error-bar" d="M${f1(cx)} ${top}V${bottom}M${f1(cx - 5)} ${top}H${f1(cx + 5)}M${f1(cx - 5)} ${bottom}H${f1(cx + 5)}" stroke="${colour}" stroke-width="1.5" fill="none"/>`,
    );
  });
  return out;
}

/** A standalone SVG document (`<svg xmlns=...>`). */
export function lineChart(options: LineChartOptions): string {
  const width = options.width ?? 640;
  const height = options.height ?? 360;
  const legendWidth = 150;
  const m = { left: 64, right: legendWidth + 16, top: 40, bottom: options.xTicks ? 72 : 52 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;

  const finite = options.series.flatMap((s) =>
    s.points.filter((p): p is [number, number] => Number.isFinite(p[0]) && Number.isFinite(p[1])),
  );
  const xs = [...finite.map((p) => p[0]), ...(options.xTicks ?? []).map((t) => t.value)];
  const ys = finite.map((p) => p[1]);
  for (const series of options.series)
    series.points.forEach(([x, y], i) => {
      const e = series.errors?.[i];
      if (Number.isFinite(x) && y !== null && Number.isFinite(y) && e != null && Number.isFinite(e))
        ys.push(y - Math.abs(e), y + Math.abs(e));
    });
  let xMin = xs.length ? Math.min(...xs) : 0;
  let xMax = xs.length ? Math.max(...xs) : 1;
  if (xMin === xMax) [xMin, xMax] = [xMin - 1, xMax + 1];
  // Categories get half a step of room at both ends, so that end labels stay readable.
  if (options.xTicks) [xMin, xMax] = [xMin - 0.5, xMax + 0.5];
  const yFrom = options.yMin ?? (ys.length ? Math.min(...ys) : 0);
  const yTo = options.yMax ?? (ys.length ? Math.max(...ys) : 1);
  const yTicks = options.integerY ? integerTicks(yFrom, yTo) : niceTicks(yFrom, yTo);
  const yLow = options.yMin ?? yTicks[0] ?? 0;
  const yHigh = options.yMax ?? yTicks[yTicks.length - 1] ?? 1;
  const ySpan = yHigh - yLow || 1;
  const px = (x: number) => m.left + ((x - xMin) / (xMax - xMin)) * plotW;
  const py = (y: number) => m.top + plotH - ((y - yLow) / ySpan) * plotH;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(options.title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(options.title)}</text>`,
  );

  // y grid and ticks
  const yStep = yTicks.length > 1 ? yTicks[1]! - yTicks[0]! : ySpan;
  for (const t of yTicks) {
    if (t < yLow - 1e-12 || t > yHigh + 1e-12) continue;
    const y = f1(py(t));
    out.push(
      `<line x1="${m.left}" x2="${m.left + plotW}" y1="${y}" y2="${y}" stroke="#e0e0e0"/>`,
      `<text x="${m.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${label(t, yStep)}</text>`,
    );
  }
  // x ticks: categories, or nice numbers (integers only when the data are integers)
  const xTicks =
    options.xTicks ??
    (() => {
      const integral = xs.every((x) => Number.isInteger(x));
      const ticks = niceTicks(
        xMin,
        xMax,
        Math.min(10, Math.max(2, Math.round(xMax - xMin))),
      ).filter((t) => t >= xMin - 1e-9 && t <= xMax + 1e-9 && (!integral || Number.isInteger(t)));
      const step = ticks.length > 1 ? ticks[1]! - ticks[0]! : 1;
      return ticks.map((value) => ({ value, label: label(value, step) }));
    })();
  // Labels wider than their share of the axis are turned 40 degrees so that they do not overlap.
  const longest = xTicks.reduce((n, t) => Math.max(n, t.label.length), 0);
  const crowded = xTicks.length > 1 && longest * 7.2 > plotW / xTicks.length - 4;
  for (const t of xTicks) {
    const x = f1(px(t.value));
    const y = m.top + plotH + 18;
    out.push(
      `<line x1="${x}" x2="${x}" y1="${m.top + plotH}" y2="${m.top + plotH + 5}" stroke="#333"/>`,
      crowded
        ? `<text transform="translate(${x} ${y - 6}) rotate(-40)" text-anchor="end">${escapeXml(t.label)}</text>`
        : `<text x="${x}" y="${y}" text-anchor="middle">${escapeXml(t.label)}</text>`,
    );
  }
  // axes and their labels
  out.push(
    `<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${m.top + plotH}" stroke="#333"/>`,
    `<line x1="${m.left}" x2="${m.left + plotW}" y1="${m.top + plotH}" y2="${m.top + plotH}" stroke="#333"/>`,
    `<text x="${m.left + plotW / 2}" y="${height - 12}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`,
    `<text transform="translate(16 ${m.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(options.yLabel)}</text>`,
  );
  if (finite.length === 0)
    out.push(
      `<text x="${m.left + plotW / 2}" y="${m.top + plotH / 2}" text-anchor="middle" fill="#888">no data</text>`,
    );

  options.series.forEach((series, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    const dash = series.dashed ? ' stroke-dasharray="6 4"' : '';
    // Split at gaps so that a missing value is not drawn through.
    const runs: [number, number][][] = [[]];
    for (const [x, y] of series.points) {
      if (Number.isFinite(x) && y !== null && Number.isFinite(y))
        runs[runs.length - 1]!.push([x, y]);
      else if (runs[runs.length - 1]!.length > 0) runs.push([]);
    }
    out.push(`<g class="series" data-name="${escapeXml(series.name)}">`);
    for (const run of runs) {
      if (run.length === 0) continue;
      const points = run.map(([x, y]) => `${f1(px(x))},${f1(py(y))}`).join(' ');
      out.push(
        `<polyline fill="none" stroke="${colour}" stroke-width="2"${dash} points="${points}"/>`,
      );
      for (const [x, y] of run)
        out.push(`<circle cx="${f1(px(x))}" cy="${f1(py(y))}" r="3" fill="${colour}"/>`);
    }
    out.push(...errorBars(series, colour, px, (v) => py(Math.min(yHigh, Math.max(yLow, v)))));
    out.push('</g>');
    const ly = m.top + 8 + i * 18;
    const lx = width - legendWidth;
    out.push(
      `<line x1="${lx}" x2="${lx + 22}" y1="${ly}" y2="${ly}" stroke="${colour}" stroke-width="2"${dash}/>`,
      `<text x="${lx + 28}" y="${ly}" dominant-baseline="middle">${escapeXml(series.name)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
