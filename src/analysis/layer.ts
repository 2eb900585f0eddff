/**
 * A probed layer's filters side by side (docs/METHOD.md, "Phase 3"): each filter's scale and
 * silence, and the layer aggregates over its non-silent filters.
 */
import { filterMetrics, maxAbs, type FilterMetrics, type FilterMetricsOptions } from './metrics.js';

/** Default `minScale`: filters below 5% of the layer's loudest are silent. */
export const DEFAULT_MIN_SCALE = 0.05;

/** Parameters of {@link layerMetrics}: the filter parameters plus `minScale`. */
export interface LayerOptions extends FilterMetricsOptions {
  /** A filter whose scale is below this is silent (default 0.05). */
  readonly minScale?: number;
}

/** One filter's metrics and where it stands in its layer. */
export interface FilterResult extends FilterMetrics {
  /** The filter's index k in the layer. */
  readonly filter: number;
  /** max |M_k|, in the raw matrix's units (output-field units). */
  readonly maxAbs: number;
  /** max |M_k| / the largest max |M_k'| of the layer, in [0, 1]; 0 when every matrix is zero. */
  readonly scale: number;
  /** scale < minScale: reported but left out of the aggregates. */
  readonly silent: boolean;
}

/** What {@link layerAggregates} needs of one filter. */
export interface AggregateInput {
  readonly clusters: readonly (readonly number[])[];
  readonly signal: number;
  readonly noise: number;
  readonly silent: boolean;
}

/**
 * Layer aggregates over the non-silent filters. Means per filter are null when every filter is
 * silent.
 */
export interface LayerAggregates {
  /** All filters of the layer, silent ones included. */
  readonly filters: number;
  /** Filters left out of the aggregates. */
  readonly silentFilters: number;
  /** All cluster members / all clusters, in labels; null when there is no cluster. */
  readonly meanClusterSize: number | null;
  /** Clusters / non-silent filters. */
  readonly meanClustersPerFilter: number | null;
  /** Fraction of non-silent filters with at least one cluster, in [0, 1]. */
  readonly fractionWithCluster: number | null;
  /** Noise marks / non-silent filters. */
  readonly meanNoise: number | null;
  /** Summed over non-silent filters. */
  readonly totalSignal: number;
  readonly totalNoise: number;
  /** totalSignal / totalNoise; null when totalNoise is 0. */
  readonly snr: number | null;
}

/**
 * Each filter's scale: max |M_k| / the largest max |M_k'| over the layer (all 0 when every
 * matrix is zero).
 *
 * @param matrices the layer's raw `[C, C]` matrices, one per filter
 * @returns `[F]` float64, each in [0, 1]
 */
export function scales(matrices: readonly ArrayLike<number>[]): Float64Array {
  const maxima = Float64Array.from(matrices, (m) => maxAbs(m));
  let largest = 0;
  for (const m of maxima) if (m > largest) largest = m;
  return largest > 0 ? maxima.map((m) => m / largest) : new Float64Array(maxima.length);
}

/**
 * Layer aggregates over the filters not marked silent (usable on stored per-filter results).
 *
 * @param filters every filter of the layer, with its clusters, signal, noise and silence
 */
export function layerAggregates(filters: readonly AggregateInput[]): LayerAggregates {
  let active = 0;
  let clusters = 0;
  let members = 0;
  let withCluster = 0;
  let totalSignal = 0;
  let totalNoise = 0;
  for (const filter of filters) {
    if (filter.silent) continue;
    active++;
    clusters += filter.clusters.length;
    for (const cluster of filter.clusters) members += cluster.length;
    if (filter.clusters.length > 0) withCluster++;
    totalSignal += filter.signal;
    totalNoise += filter.noise;
  }
  const perFilter = (value: number) => (active === 0 ? null : value / active);
  return {
    filters: filters.length,
    silentFilters: filters.length - active,
    meanClusterSize: clusters === 0 ? null : members / clusters,
    meanClustersPerFilter: perFilter(clusters),
    fractionWithCluster: perFilter(withCluster),
    meanNoise: perFilter(totalNoise),
    totalSignal,
    totalNoise,
    snr: totalNoise === 0 ? null : totalSignal / totalNoise,
  };
}

/**
 * Every filter's metrics, scale and silence, and the layer aggregates over non-silent filters.
 *
 * @param matrices the layer's raw `[C, C]` row-major matrices, one per filter, all the same C
 * @param options `threshold` (default 0.3), `normalization` (default `COLUMN_CENTERED`),
 *   `minScale` (default 0.05)
 */
export function layerMetrics(
  matrices: readonly ArrayLike<number>[],
  options: LayerOptions = {},
): { filters: FilterResult[]; aggregates: LayerAggregates } {
  const minScale = options.minScale ?? DEFAULT_MIN_SCALE;
  if (!Number.isFinite(minScale)) {
    throw new RangeError(`minScale must be a finite number, got ${minScale}`);
  }
  const first = matrices[0];
  matrices.forEach((m, k) => {
    if (m.length !== first?.length) {
      throw new RangeError(
        `every matrix of a layer must hold ${first?.length} values, matrix ${k} holds ${m.length}`,
      );
    }
  });
  const scale = scales(matrices);
  const filters = matrices.map((matrix, k): FilterResult => {
    const s = scale[k]!;
    return {
      ...filterMetrics(matrix, options),
      filter: k,
      maxAbs: maxAbs(matrix),
      scale: s,
      silent: s < minScale,
    };
  });
  return { filters, aggregates: layerAggregates(filters) };
}
