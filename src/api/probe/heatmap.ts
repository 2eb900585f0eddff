import {
  DEFAULT_NORMALIZATION,
  DEFAULT_THRESHOLD,
  filterMetrics,
  maxAbs,
  type Normalization,
} from '../../analysis/metrics.js';
import { escapeXml } from '../../xml.js';
import {
  clusterBlocks,
  clusterKeys,
  divergingColor,
  fmt,
  heatmapLegend,
  KEY_ROW,
  type Layout,
} from './heatmap-parts.js';
/**
 * A correlation matrix as a standalone SVG heatmap: input (true) labels as rows, the averaged
 * output fields as columns, label names on both axes, a diverging colour scale symmetric about 0
 * (blue below, white at 0, red above) with its legend.
 *
 * - `NORMALIZED` (the default) draws the normalised matrix N of docs/METHOD.md's phase 3, a dot on
 *   every mark (N >= threshold) and an outline around each cluster's block of cells, the counts
 *   that SNR is made of under the grid.
 * - `RAW` draws the raw matrix M (logit units), as stored.
 */

export type HeatmapView = 'NORMALIZED' | 'RAW';

export interface HeatmapOptions {
  /** Raw `[C, C]` row-major. */
  readonly values: ArrayLike<number>;
  /** C names, for the rows and the columns. */
  readonly labels: readonly string[];
  readonly title: string;
  /** Default `NORMALIZED`. */
  readonly view?: HeatmapView;
  /** Phase 3's parameters (METHOD.md defaults when left out). */
  readonly threshold?: number;
  readonly normalization?: Normalization;
  /** The filter is silent (scale < minScale): said under the title. */
  readonly silent?: boolean;
}

/** Above this many labels, cells carry no tooltip (keeps the SVG small). */
const MAX_TOOLTIP_LABELS = 32;

export { divergingColor };

/** Cell side and font size: large for a few labels, smaller (still readable) for many. */
function sizes(C: number): { cell: number; font: number } {
  if (C <= 12) return { cell: 36, font: 14 };
  if (C <= 24) return { cell: 26, font: 13 };
  if (C <= 50) return { cell: 16, font: 11 };
  return { cell: 12, font: 9 };
}

function layoutOf(C: number, labels: readonly string[], minWidth: number, extra: number): Layout {
  const { cell, font } = sizes(C);
  const char = font * 0.6;
  const longest = labels.reduce((m, l) => Math.max(m, l.length), 0);
  const labelSpace = Math.ceil(longest * char) + 10;
  const left = labelSpace + 30;
  const top = 62 + labelSpace;
  const grid = C * cell;
  const legendWidth = Math.max(200, Math.min(320, grid));
  const width = Math.max(left + grid + 20, left + legendWidth + 120, minWidth);
  const height = top + grid + 74 + extra;
  return { C, cell, font, left, top, grid, width, height, legendWidth };
}

/** The standalone SVG document. */
export function renderHeatmap(options: HeatmapOptions): string {
  const { values, labels, title } = options;
  const view = options.view ?? 'NORMALIZED';
  const C = labels.length;
  if (values.length !== C * C) {
    throw new RangeError(`a heatmap of ${C} labels needs ${C * C} values, got ${values.length}`);
  }
  const normalization = options.normalization ?? DEFAULT_NORMALIZATION;
  const threshold = options.threshold ?? DEFAULT_THRESHOLD;
  const metrics =
    view === 'NORMALIZED' ? filterMetrics(values, { threshold, normalization }) : null;
  const shown: ArrayLike<number> = metrics ? metrics.normalized : values;
  const largest = maxAbs(shown);
  // N of COLUMN_CENTERED and MAX tops out at 1: keep the scale at 1 so that filters compare.
  const scale = metrics && normalization !== 'NONE' ? Math.max(1, largest) : largest;
  const subtitle = metrics
    ? `normalised matrix N (${normalization}); dot: a mark, N ≥ ${fmt(threshold)}; outline: a cluster`
    : 'raw matrix M (logit units)';
  const minWidth = Math.ceil(Math.max(title.length * 10.5, subtitle.length * 7.4)) + 20;
  const base = layoutOf(C, labels, minWidth, 0);
  const keys = metrics ? clusterKeys(metrics.clusters, labels, base.left, base.width) : [];
  const lay = metrics ? layoutOf(C, labels, minWidth, 52 + keys.length * KEY_ROW) : base;
  const { cell, font, left, top, grid, width, height } = lay;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="${font}" class="heatmap ${view.toLowerCase()}">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="17" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="${width / 2}" y="42" text-anchor="middle" font-size="13">${escapeXml(subtitle)}${options.silent ? ' (silent filter)' : ''}</text>`,
    `<text x="${Math.max(left + grid / 2, 190)}" y="60" text-anchor="middle" font-size="13">output field (mean over the input label's images)</text>`,
    `<text transform="translate(16 ${top + grid / 2}) rotate(-90)" text-anchor="middle" font-size="13">input (true) label</text>`,
  );
  out.push('<g class="columns">');
  labels.forEach((name, j) => {
    const x = left + j * cell + cell / 2 + font / 3;
    out.push(`<text transform="translate(${x} ${top - 6}) rotate(-90)">${escapeXml(name)}</text>`);
  });
  out.push('</g>', '<g class="rows">');
  labels.forEach((name, i) => {
    const y = top + i * cell + cell / 2 + font / 3;
    out.push(`<text x="${left - 6}" y="${y}" text-anchor="end">${escapeXml(name)}</text>`);
  });
  out.push('</g>', '<g class="cells">');
  const tooltips = C <= MAX_TOOLTIP_LABELS;
  for (let i = 0; i < C; i++) {
    for (let j = 0; j < C; j++) {
      const v = shown[i * C + j]!;
      const fill = divergingColor(scale > 0 ? v / scale : 0);
      const rect = `<rect x="${left + j * cell}" y="${top + i * cell}" width="${cell}" height="${cell}" fill="${fill}"`;
      const tip = metrics
        ? `${labels[i]} → ${labels[j]}: N ${fmt(v)}, raw ${fmt(values[i * C + j]!)}${metrics.marks[i * C + j] ? ' (mark)' : ''}`
        : `${labels[i]} → ${labels[j]}: ${fmt(v)}`;
      out.push(tooltips ? `${rect}><title>${escapeXml(tip)}</title></rect>` : `${rect}/>`);
    }
  }
  out.push(
    '</g>',
    `<rect x="${left}" y="${top}" width="${grid}" height="${grid}" fill="none" stroke="#888888"/>`,
  );
  if (metrics) {
    out.push('<g class="marks">');
    const r = Math.max(1.5, cell * 0.16);
    for (let i = 0; i < C; i++) {
      for (let j = 0; j < C; j++) {
        if (!metrics.marks[i * C + j]) continue;
        out.push(
          `<circle class="mark" data-row="${i}" data-column="${j}" cx="${left + j * cell + cell / 2}" cy="${top + i * cell + cell / 2}" r="${r}" fill="#111111" stroke="#ffffff" stroke-width="1"/>`,
        );
      }
    }
    out.push('</g>', ...clusterBlocks(metrics.clusters, labels, lay));
  }
  out.push(...heatmapLegend(lay, scale, metrics ? { threshold, metrics, keys } : null), '</svg>');
  return out.join('\n');
}
