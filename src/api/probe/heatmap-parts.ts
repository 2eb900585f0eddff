import type { FilterMetrics } from '../../analysis/metrics.js';
import { escapeXml } from '../../xml.js';
/** The parts of a heatmap SVG beside its cells: cluster outlines and the legend. */

/** Where a heatmap's grid lies and how large its text is. */
export interface Layout {
  readonly C: number;
  readonly cell: number;
  readonly font: number;
  readonly left: number;
  readonly top: number;
  readonly grid: number;
  readonly width: number;
  readonly height: number;
  readonly legendWidth: number;
}

const BLUE: readonly [number, number, number] = [33, 102, 172];
const WHITE: readonly [number, number, number] = [247, 247, 247];
const RED: readonly [number, number, number] = [178, 24, 43];
/** Cluster outlines: dark, saturated colours that are neither the scale's red nor its blue. */
const CLUSTER_COLOURS = [
  '#111111',
  '#1b9e77',
  '#7b3294',
  '#d95f02',
  '#e7298a',
  '#66a61e',
  '#a6761d',
  '#e6ab02',
];

const hex = (c: readonly number[]): string =>
  `#${c.map((v) => Math.round(v).toString(16).padStart(2, '0')).join('')}`;

/** Diverging colour of `t` in [-1, 1]: blue at -1, white at 0, red at 1 (clamped; NaN white). */
export function divergingColor(t: number): string {
  const x = Number.isFinite(t) ? Math.max(-1, Math.min(1, t)) : 0;
  const end = x < 0 ? BLUE : RED;
  const a = Math.abs(x);
  return hex(WHITE.map((w, i) => w + (end[i]! - w) * a));
}

export const fmt = (v: number): string =>
  Number.isFinite(v) ? Number(v.toPrecision(4)).toString() : 'NaN';

export const clusterColour = (k: number): string => CLUSTER_COLOURS[k % CLUSTER_COLOURS.length]!;

/** Runs of consecutive labels: [3, 4, 6] gives [[3, 4], [6, 6]]. */
export function runsOf(labels: readonly number[]): [number, number][] {
  const runs: [number, number][] = [];
  for (const l of [...labels].sort((a, b) => a - b)) {
    const last = runs[runs.length - 1];
    if (last && l === last[1] + 1) last[1] = l;
    else runs.push([l, l]);
  }
  return runs;
}

/**
 * One `<g class="cluster">` per cluster: the outline of its labels' block of cells (rows and
 * columns of its labels; one rectangle per pair of runs when the labels are not consecutive) and a
 * strip of its colour beside its rows and under its columns.
 */
export function clusterBlocks(
  clusters: readonly (readonly number[])[],
  labels: readonly string[],
  lay: Layout,
): string[] {
  const { cell, left, top, grid } = lay;
  const out = ['<g class="clusters">'];
  clusters.forEach((members, k) => {
    const colour = clusterColour(k);
    const names = members.map((l) => labels[l] ?? String(l)).join(', ');
    out.push(
      `<g class="cluster" data-labels="${members.join(',')}"><title>${escapeXml(`cluster {${names}}`)}</title>`,
    );
    const runs = runsOf(members);
    for (const [r0, r1] of runs) {
      for (const [c0, c1] of runs) {
        out.push(
          `<rect x="${left + c0 * cell + 1.5}" y="${top + r0 * cell + 1.5}" width="${(c1 - c0 + 1) * cell - 3}" height="${(r1 - r0 + 1) * cell - 3}" fill="none" stroke="${colour}" stroke-width="3"/>`,
        );
      }
      out.push(
        `<rect x="${left + grid + 3}" y="${top + r0 * cell}" width="6" height="${(r1 - r0 + 1) * cell}" fill="${colour}"/>`,
        `<rect x="${left + r0 * cell}" y="${top + grid + 3}" width="${(r1 - r0 + 1) * cell}" height="6" fill="${colour}"/>`,
      );
    }
    out.push('</g>');
  });
  out.push('</g>');
  return out;
}

/** One entry of the cluster key: its colour index (-1: "and k more") and text at x. */
export interface ClusterKey {
  readonly cluster: number;
  readonly text: string;
  readonly x: number;
}
/** Pixels between rows of the cluster key. */
export const KEY_ROW = 20;
const KEY_CHAR = 13 * 0.6;

/**
 * The cluster key laid out in rows that fit between `left` and `width`, at most `maxRows`; what
 * does not fit is summed up as "and k more".
 */
export function clusterKeys(
  clusters: readonly (readonly number[])[],
  labels: readonly string[],
  left: number,
  width: number,
  maxRows = 4,
): ClusterKey[][] {
  const rows: ClusterKey[][] = [[]];
  let x = left;
  for (let k = 0; k < clusters.length; k++) {
    const text = `{${clusters[k]!.map((l) => labels[l] ?? String(l)).join(', ')}}`;
    const w = 16 + text.length * KEY_CHAR + 14;
    if (x + w > width - 8 && rows[rows.length - 1]!.length > 0) {
      if (rows.length === maxRows) {
        rows[rows.length - 1]!.push({ cluster: -1, text: `and ${clusters.length - k} more`, x });
        return rows;
      }
      rows.push([]);
      x = left;
    }
    rows[rows.length - 1]!.push({ cluster: k, text, x });
    x += w;
  }
  return rows;
}

/** The colour scale from -scale to +scale, the threshold on it, and the counts behind SNR. */
export function heatmapLegend(
  lay: Layout,
  scale: number,
  normalized: {
    threshold: number;
    metrics: FilterMetrics;
    keys: readonly ClusterKey[][];
  } | null,
): string[] {
  const { left, top, grid, legendWidth } = lay;
  const ly = top + grid + 30;
  const out = [
    '<g class="legend" font-size="13">',
    '<defs><linearGradient id="diverging" x1="0" x2="1" y1="0" y2="0">',
    `<stop offset="0" stop-color="${divergingColor(-1)}"/>`,
    `<stop offset="0.5" stop-color="${divergingColor(0)}"/>`,
    `<stop offset="1" stop-color="${divergingColor(1)}"/>`,
    '</linearGradient></defs>',
    `<rect x="${left}" y="${ly}" width="${legendWidth}" height="12" fill="url(#diverging)" stroke="#888888"/>`,
    `<text x="${left}" y="${ly + 28}" text-anchor="middle">${fmt(-scale)}</text>`,
    `<text x="${left + legendWidth / 2}" y="${ly + 28}" text-anchor="middle">0</text>`,
    `<text x="${left + legendWidth}" y="${ly + 28}" text-anchor="middle">${fmt(scale)}</text>`,
    `<text x="${left + legendWidth + 24}" y="${ly + 11}">${normalized ? 'N' : 'M (logits)'}</text>`,
  ];
  if (normalized) {
    const { threshold, metrics, keys } = normalized;
    if (scale > 0 && Math.abs(threshold) <= scale) {
      const x = left + (legendWidth * (threshold / scale + 1)) / 2;
      out.push(
        `<line x1="${x}" x2="${x}" y1="${ly - 4}" y2="${ly + 16}" stroke="#111111" stroke-width="2"/>`,
        `<text x="${x}" y="${ly - 7}" text-anchor="middle" font-size="11">threshold</text>`,
      );
    }
    const snr = metrics.snr === null ? 'none (no noise)' : fmt(metrics.snr);
    out.push(
      `<text x="${left}" y="${ly + 52}">${metrics.markCount} marks: signal ${metrics.signal}, noise ${metrics.noise}, SNR ${snr}; ${metrics.clusters.length} clusters</text>`,
    );
    // Each cluster's colour and labels, in rows.
    keys.forEach((row, r) => {
      const y = ly + 76 + r * KEY_ROW;
      for (const key of row) {
        if (key.cluster < 0) {
          out.push(`<text x="${key.x}" y="${y}">${escapeXml(key.text)}</text>`);
          continue;
        }
        out.push(
          `<rect x="${key.x}" y="${y - 10}" width="12" height="12" fill="${clusterColour(key.cluster)}"/>`,
          `<text x="${key.x + 16}" y="${y}">${escapeXml(key.text)}</text>`,
        );
      }
    });
  }
  out.push('</g>');
  return out;
}
