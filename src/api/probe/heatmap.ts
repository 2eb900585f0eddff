import { escapeXml } from '../../xml.js';
/**
 * A correlation matrix as a standalone SVG heatmap: input (true) labels as rows, the averaged
 * output fields as columns, label names on both axes, and a diverging colour scale symmetric
 * about 0 (blue below, white at 0, red above) with its legend.
 */

export interface HeatmapOptions {
  /** `[C, C]` row-major. */
  readonly values: ArrayLike<number>;
  /** C names, for the rows and the columns. */
  readonly labels: readonly string[];
  readonly title: string;
}

const CELL = 18;
const CHAR = 6.5;
const FONT = 11;
const BLUE: readonly [number, number, number] = [33, 102, 172];
const WHITE: readonly [number, number, number] = [247, 247, 247];
const RED: readonly [number, number, number] = [178, 24, 43];
/** Above this many labels, cells carry no tooltip (keeps the SVG small). */
const MAX_TOOLTIP_LABELS = 32;

const hex = (c: readonly number[]): string =>
  `#${c.map((v) => Math.round(v).toString(16).padStart(2, '0')).join('')}`;

/** Diverging colour of `t` in [-1, 1]: blue at -1, white at 0, red at 1 (clamped; NaN white). */
export function divergingColor(t: number): string {
  const x = Number.isFinite(t) ? Math.max(-1, Math.min(1, t)) : 0;
  const end = x < 0 ? BLUE : RED;
  const a = Math.abs(x);
  return hex(WHITE.map((w, i) => w + (end[i]! - w) * a));
}

const fmt = (v: number): string =>
  Number.isFinite(v) ? Number(v.toPrecision(4)).toString() : 'NaN';

export function renderHeatmap({ values, labels, title }: HeatmapOptions): string {
  const C = labels.length;
  if (values.length !== C * C) {
    throw new RangeError(`a heatmap of ${C} labels needs ${C * C} values, got ${values.length}`);
  }
  let scale = 0;
  for (let q = 0; q < values.length; q++) {
    const v = Math.abs(values[q]!);
    if (Number.isFinite(v) && v > scale) scale = v;
  }
  const longest = labels.reduce((m, l) => Math.max(m, l.length), 0);
  const labelSpace = Math.ceil(longest * CHAR) + 10;
  const left = labelSpace + 22;
  const top = 34 + labelSpace + 6;
  const grid = C * CELL;
  const legendWidth = Math.max(120, Math.min(240, grid));
  const width = Math.max(
    left + grid + 16,
    left + legendWidth + 60,
    Math.ceil(title.length * 8) + 20,
  );
  const height = top + grid + 64;
  const tooltips = C <= MAX_TOOLTIP_LABELS;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="${FONT}">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="${left + grid / 2}" y="40" text-anchor="middle">output field (mean over the label's images)</text>`,
    `<text transform="translate(14 ${top + grid / 2}) rotate(-90)" text-anchor="middle">input label</text>`,
  );
  out.push('<g class="columns">');
  labels.forEach((name, j) => {
    const x = left + j * CELL + CELL / 2 + 4;
    out.push(`<text transform="translate(${x} ${top - 4}) rotate(-90)">${escapeXml(name)}</text>`);
  });
  out.push('</g>', '<g class="rows">');
  labels.forEach((name, i) => {
    const y = top + i * CELL + CELL / 2 + 4;
    out.push(`<text x="${left - 4}" y="${y}" text-anchor="end">${escapeXml(name)}</text>`);
  });
  out.push('</g>', '<g class="cells">');
  for (let i = 0; i < C; i++) {
    for (let j = 0; j < C; j++) {
      const v = values[i * C + j]!;
      const fill = divergingColor(scale > 0 ? v / scale : 0);
      const rect = `<rect x="${left + j * CELL}" y="${top + i * CELL}" width="${CELL}" height="${CELL}" fill="${fill}"`;
      out.push(
        tooltips
          ? `${rect}><title>${escapeXml(`${labels[i]} → ${labels[j]}: ${fmt(v)}`)}</title></rect>`
          : `${rect}/>`,
      );
    }
  }
  out.push(
    '</g>',
    `<rect x="${left}" y="${top}" width="${grid}" height="${grid}" fill="none" stroke="#888888"/>`,
  );
  // Legend: -scale .. 0 .. +scale.
  const ly = top + grid + 20;
  out.push(
    '<defs><linearGradient id="diverging" x1="0" x2="1" y1="0" y2="0">',
    `<stop offset="0" stop-color="${divergingColor(-1)}"/>`,
    `<stop offset="0.5" stop-color="${divergingColor(0)}"/>`,
    `<stop offset="1" stop-color="${divergingColor(1)}"/>`,
    '</linearGradient></defs>',
    `<rect x="${left}" y="${ly}" width="${legendWidth}" height="10" fill="url(#diverging)" stroke="#888888"/>`,
    `<text x="${left}" y="${ly + 24}" text-anchor="middle">${fmt(-scale)}</text>`,
    `<text x="${left + legendWidth / 2}" y="${ly + 24}" text-anchor="middle">0</text>`,
    `<text x="${left + legendWidth}" y="${ly + 24}" text-anchor="middle">${fmt(scale)}</text>`,
    '</svg>',
  );
  return out.join('\n');
}
