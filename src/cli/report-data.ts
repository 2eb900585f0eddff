import { clusterText } from '../csv.js';
import type { Dataset, FilterRow, LayerDetails, ProbeDetails, RunDetails } from './operations.js';

/** What a report is made of: everything fetched from the API once the probe ended. */
export interface ReportData {
  readonly command: {
    readonly argv: readonly string[];
    readonly startedAt: string;
    readonly finishedAt: string;
    readonly server: string;
    readonly embedded: boolean;
  };
  readonly run: RunDetails;
  readonly probe: ProbeDetails;
  /** The server's description of the run's dataset (null if it no longer lists it). */
  readonly dataset: Dataset | null;
  readonly labelNames: readonly string[];
  /** Every filter of each probed layer, by index. */
  readonly filters: ReadonlyMap<string, readonly FilterRow[]>;
  /** Heatmap SVGs of the best and worst filters of each layer (see `selectExtremes`). */
  readonly heatmaps: ReadonlyMap<string, { best: HeatmapFile[]; worst: HeatmapFile[] }>;
  /** How the subscriptions went: events seen, reconnects, EPOCH events in order. */
  readonly stream: Record<string, unknown>;
}

export interface HeatmapFile {
  readonly index: number;
  readonly snr: number;
  /** The NORMALIZED view: N with its marks and clusters. */
  readonly svg: string;
  /** The RAW view. */
  readonly raw: string;
}

/**
 * The `n` best and `n` worst filters of a layer by SNR, among those that are not silent and have
 * noise (a null SNR, noise-free, has no rank). Best: SNR descending; worst: SNR ascending; ties
 * by index. With fewer than 2n candidates the two lists overlap.
 */
export function selectExtremes(
  filters: readonly FilterRow[],
  n: number,
): { best: FilterRow[]; worst: FilterRow[] } {
  const ranked = filters.filter((f) => !f.silent && f.snr !== null);
  const best = [...ranked].sort((a, b) => b.snr! - a.snr! || a.index - b.index).slice(0, n);
  const worst = [...ranked].sort((a, b) => a.snr! - b.snr! || a.index - b.index).slice(0, n);
  return { best, worst };
}

/** Mean SNR of a layer's non-silent filters that have noise; null when there are none. */
export function meanFilterSnr(filters: readonly FilterRow[]): number | null {
  const snrs = filters.filter((f) => !f.silent && f.snr !== null).map((f) => f.snr!);
  return snrs.length ? snrs.reduce((a, b) => a + b, 0) / snrs.length : null;
}

/** Seconds between two ISO times, or null. */
export function secondsBetween(from: string | null, to: string | null): number | null {
  if (!from || !to) return null;
  const s = (Date.parse(to) - Date.parse(from)) / 1000;
  return Number.isFinite(s) ? Math.round(s * 10) / 10 : null;
}

/** A layer's row of layers.csv / layers.md, in column order. */
export const LAYER_COLUMNS = [
  'layer',
  'probePoint',
  'filters',
  'successRate',
  'meanClusterSize',
  'meanClustersPerFilter',
  'clusteredFraction',
  'meanNoise',
  'snr',
  'meanFilterSnr',
  'silentFilters',
  'afccKeptFraction',
  'afccKept',
  'afccTotal',
  'afccSrBefore',
  'afccSrAfter',
] as const;

export function layerRow(
  layer: LayerDetails,
  filters: readonly FilterRow[],
): (string | number | null)[] {
  return [
    layer.layerName,
    layer.probePointShape ? layer.probePointShape.join('x') : null,
    filters.length,
    layer.successRate,
    layer.meanClusterSize,
    layer.meanClustersPerFilter,
    layer.clusteredFraction,
    layer.meanNoise,
    layer.snr,
    meanFilterSnr(filters),
    layer.silentFilters,
    layer.afcc?.keptFraction ?? null,
    layer.afcc?.kept ?? null,
    layer.afcc?.total ?? null,
    layer.afcc?.srBefore ?? null,
    layer.afcc?.srAfter ?? null,
  ];
}

export function filterRow(
  layer: string,
  f: FilterRow,
  labelNames: readonly string[],
): (string | number | boolean | null)[] {
  return [
    layer,
    f.index,
    f.scale,
    f.silent,
    f.preferredLabel,
    labelNames[f.preferredLabel] ?? null,
    f.preference,
    clusterText(f.clusters.map((c) => c.names)),
    clusterText(f.clusters.map((c) => c.labels)),
    f.signal,
    f.noise,
    f.snr,
    f.noiseFree,
    f.ablation,
  ];
}
