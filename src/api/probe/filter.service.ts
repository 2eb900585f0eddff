import { and, asc, count, desc, eq, gte, inArray, sql, type SQL } from 'drizzle-orm';
import { DEFAULT_MIN_SCALE } from '../../analysis/layer.js';
import {
  DEFAULT_NORMALIZATION,
  DEFAULT_THRESHOLD,
  filterMetrics,
  type Normalization,
} from '../../analysis/metrics.js';
import { probeTopic } from '../../contract/events.js';
import { isFinal } from '../../contract/status.js';
import type { EventBus } from '../../events/bus.js';
import type { Store } from '../../store/db.js';
import {
  filterResults,
  layerProbes,
  probes,
  trainingRuns,
  type FilterResultRow,
} from '../../store/schema/index.js';
import type { DatasetService } from '../dataset/dataset.service.js';
import { badInput, checkRange, notFound } from '../errors.js';
import { toConnection, toPage, type ConnectionShape } from '../relay/connection.js';
import { decodeIntId, toGlobalId } from '../relay/global-id.js';
import { labelIndex } from './filter-label.js';
import { Cluster, CorrelationMatrix, FilterResult } from './filter.type.js';
import { FilterOrder, Probe, type LayerProbe } from './probe.type.js';

/** Parameters of the metric values returned for filters (the stored ones use the defaults). */
export interface FilterParams {
  readonly threshold: number;
  readonly normalization: Normalization;
  readonly minScale: number;
}

export const DEFAULT_FILTER_PARAMS: FilterParams = {
  threshold: DEFAULT_THRESHOLD,
  normalization: DEFAULT_NORMALIZATION,
  minScale: DEFAULT_MIN_SCALE,
};

/** What `LayerProbe.filters` asks for. */
export interface FilterQuery extends FilterParams {
  readonly orderBy: FilterOrder;
  readonly first?: number | null;
  readonly after?: string | null;
  readonly minSnr?: number | null;
  readonly label?: number | null;
  /** A label's name (any case) or index: filters with a cluster holding it. */
  readonly clusterLabel?: string | null;
  /** true: only silent filters (scale < minScale); false: none of them. */
  readonly silent?: boolean | null;
}

/** What turning a stored filter into a FilterResult needs of its layer. */
interface FilterContext {
  readonly layerName: string;
  readonly labelNames: readonly string[];
}

/** The raw float32 little-endian matrix bytes as numbers. */
function decodeMatrix(bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Float32Array.from({ length: bytes.byteLength >> 2 }, (_, q) =>
    view.getFloat32(q * 4, true),
  );
}

/**
 * The threshold's range depends on the normalization: COLUMN_CENTERED and MAX matrices lie in
 * [-1, 1] with their largest entry at 1, so a threshold above 1 marks nothing and one below 0
 * marks the noise floor, and every SNR would be meaningless; NONE compares raw values, whose
 * scale is the network's own.
 */
function checkParams(query: Partial<FilterParams>): FilterParams {
  const threshold = query.threshold ?? DEFAULT_THRESHOLD;
  const minScale = query.minScale ?? DEFAULT_MIN_SCALE;
  const normalization = query.normalization ?? DEFAULT_NORMALIZATION;
  const unit = normalization !== 'NONE';
  if (!Number.isFinite(threshold) || (unit && (threshold < 0 || threshold > 1)))
    throw badInput(
      'threshold',
      threshold,
      unit
        ? `must be a number in [0, 1] with normalization ${normalization} (its entries are at most 1; NONE takes any finite number)`
        : 'must be a finite number',
    );
  checkRange('minScale', minScale, { min: 0, max: 1 });
  return { threshold, minScale, normalization };
}

/** Filter results (phase 3): pages, exports, the live stream, and one filter by id. */
export class FilterService {
  constructor(
    private readonly store: Store,
    private readonly datasets: DatasetService,
    private readonly bus: EventBus,
  ) {}

  /** One filter by key, with the metrics of the default parameters; null when there is none. */
  async findOne(key: number): Promise<FilterResult | null> {
    const [row] = await this.store.db.select().from(filterResults).where(eq(filterResults.id, key));
    if (!row) return null;
    const [layer] = await this.store.db
      .select({ layerName: layerProbes.layerName, probeId: layerProbes.probeId })
      .from(layerProbes)
      .where(eq(layerProbes.id, row.layerProbeId));
    if (!layer) return null;
    const context = {
      layerName: layer.layerName,
      labelNames: await this.labelNames(layer.probeId),
    };
    return this.toResult(row, context, DEFAULT_FILTER_PARAMS);
  }

  /**
   * A layer's filters: sorted and filtered in SQL by the metrics stored for the default
   * parameters; the values returned are recomputed for `threshold`, `normalization`, `minScale`.
   * Offset cursors.
   */
  async findMany(layer: LayerProbe, query: FilterQuery): Promise<ConnectionShape<FilterResult>> {
    const page = toPage({ first: query.first, after: query.after });
    const params = checkParams(query);
    checkRange('minSnr', query.minSnr, { min: -Infinity, max: Infinity });
    checkRange('label', query.label, { min: 0, max: 10_000, integer: true });
    const context = {
      layerName: layer.layerName,
      labelNames: await this.labelNames(layer.probeKey),
    };
    const conditions: SQL[] = [eq(filterResults.layerProbeId, layer.key)];
    if (query.minSnr !== undefined && query.minSnr !== null)
      conditions.push(gte(filterResults.snr, query.minSnr));
    if (query.label !== undefined && query.label !== null)
      conditions.push(eq(filterResults.preferredLabel, query.label));
    if (query.clusterLabel !== undefined && query.clusterLabel !== null) {
      const label = labelIndex(query.clusterLabel, context.labelNames);
      // jsonb containment: some cluster (an array of label indices) holds `label`.
      conditions.push(sql`${filterResults.clusters} @> ${JSON.stringify([[label]])}::jsonb`);
    }
    const silent = sql`(${filterResults.scale} < ${params.minScale})`;
    if (query.silent === true) conditions.push(silent);
    if (query.silent === false) conditions.push(sql`not ${silent}`);
    // Every order but INDEX puts silent filters last: their SNR and ablation mean little.
    const order: SQL[] = {
      [FilterOrder.INDEX]: [],
      // PostgreSQL puts nulls first in descending order; null SNRs (no noise) go last.
      [FilterOrder.SNR_DESC]: [sql`${filterResults.snr} desc nulls last`],
      [FilterOrder.ABLATION_DESC]: [desc(filterResults.ablation)],
      [FilterOrder.SCALE_DESC]: [desc(filterResults.scale)],
    }[query.orderBy];
    if (query.orderBy !== FilterOrder.INDEX) order.unshift(sql`${silent} asc`);
    const rows = await this.store.db
      .select()
      .from(filterResults)
      .where(and(...conditions))
      .orderBy(...order, asc(filterResults.index))
      .offset(page.afterKey)
      .limit(page.first + 1);
    const [total] = await this.store.db
      .select({ n: count() })
      .from(filterResults)
      .where(and(...conditions));
    return toConnection(
      rows.map((row, i) => ({ row, position: page.afterKey + i + 1 })),
      page,
      (r) => r.position,
      (r) => this.toResult(r.row, context, params),
      Number(total?.n ?? 0),
    );
  }

  /** Every filter of a layer in index order, read in batches: for exports, which have no page cap. */
  async *all(layer: LayerProbe, batch = 256): AsyncGenerator<FilterResult> {
    const context = {
      layerName: layer.layerName,
      labelNames: await this.labelNames(layer.probeKey),
    };
    for (let from = 0; ;) {
      const rows = await this.store.db
        .select()
        .from(filterResults)
        .where(and(eq(filterResults.layerProbeId, layer.key), gte(filterResults.index, from)))
        .orderBy(asc(filterResults.index))
        .limit(batch);
      for (const row of rows) yield this.toResult(row, context, DEFAULT_FILTER_PARAMS);
      const last = rows.at(-1);
      if (rows.length < batch || !last) return;
      from = last.index + 1;
    }
  }

  /**
   * A probe's filter results (optionally of one layer) as they are stored, those already
   * stored first; ends after the probe ends. BAD_USER_INPUT for a layer the probe does not probe.
   */
  async stream(
    probeId: string,
    layer: string | null | undefined,
  ): Promise<AsyncGenerator<FilterResult>> {
    const key = decodeIntId(probeId, 'Probe', 'probeId');
    const [row] = await this.store.db.select().from(probes).where(eq(probes.id, key));
    if (!row) throw notFound('Probe', probeId);
    const probe = Probe.fromRow(row);
    if (layer !== undefined && layer !== null && !probe.layerNames.includes(layer))
      throw badInput(
        'layer',
        layer,
        `is not a layer of this probe (${probe.layerNames.join(', ')})`,
      );
    return this.follow(probe, layer ?? null);
  }

  private async *follow(probe: Probe, layer: string | null): AsyncGenerator<FilterResult> {
    const labelNames = await this.labelNames(probe.key);
    const layerKeys = new Map<string, number>();
    const events = this.bus.subscribe(probeTopic(probe.key), {
      afterSequence: 0,
      until: (e) => e.type === 'status' && isFinal(e.payload.status),
    });
    for await (const event of events) {
      if (event.type !== 'filters') continue;
      const { layer: name, indices } = event.payload;
      if ((layer !== null && name !== layer) || indices.length === 0) continue;
      let layerKey = layerKeys.get(name);
      if (layerKey === undefined) {
        const [row] = await this.store.db
          .select({ id: layerProbes.id })
          .from(layerProbes)
          .where(and(eq(layerProbes.probeId, probe.key), eq(layerProbes.layerName, name)));
        if (!row) continue;
        layerKey = row.id;
        layerKeys.set(name, layerKey);
      }
      const rows = await this.store.db
        .select()
        .from(filterResults)
        .where(
          and(eq(filterResults.layerProbeId, layerKey), inArray(filterResults.index, [...indices])),
        )
        .orderBy(asc(filterResults.index));
      for (const row of rows)
        yield this.toResult(row, { layerName: name, labelNames }, DEFAULT_FILTER_PARAMS);
    }
  }

  private toResult(
    row: FilterResultRow,
    context: FilterContext,
    params: FilterParams,
  ): FilterResult {
    const values = decodeMatrix(row.matrix);
    const C = row.labels;
    const names = Array.from({ length: C }, (_, i) => context.labelNames[i] ?? `label ${i}`);
    const isDefault =
      params.threshold === DEFAULT_THRESHOLD && params.normalization === DEFAULT_NORMALIZATION;
    const m = isDefault
      ? row
      : filterMetrics(values, { threshold: params.threshold, normalization: params.normalization });
    return Object.assign(new FilterResult(), {
      id: toGlobalId('FilterResult', row.id),
      key: row.id,
      layerProbeKey: row.layerProbeId,
      index: row.index,
      scale: row.scale,
      silent: row.scale < params.minScale,
      preferredLabel: m.preferredLabel,
      preference: m.preference,
      clusters: m.clusters.map((labels) =>
        Object.assign(new Cluster(), { labels, names: labels.map((l) => names[l]!) }),
      ),
      signal: m.signal,
      noise: m.noise,
      snr: m.snr,
      noiseFree: m.noiseFree,
      ablation: row.ablation,
      correlation: Object.assign(new CorrelationMatrix(), {
        values,
        size: C,
        labels: names,
        title: `${context.layerName} filter ${row.index}`,
        threshold: params.threshold,
        normalization: params.normalization,
        silent: row.scale < params.minScale,
      }),
    });
  }

  /** The label names of a probe's run's dataset (procedural: from its label count). */
  private async labelNames(probeKey: number): Promise<string[]> {
    const [row] = await this.store.db
      .select({ dataset: trainingRuns.dataset, options: trainingRuns.datasetOptions })
      .from(probes)
      .innerJoin(trainingRuns, eq(probes.runId, trainingRuns.id))
      .where(eq(probes.id, probeKey));
    return row ? this.datasets.labelNames(row.dataset, row.options) : [];
  }
}
