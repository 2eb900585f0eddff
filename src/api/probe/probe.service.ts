import { and, asc, count, desc, eq, gte, inArray, sql, type SQL } from 'drizzle-orm';
import { DEFAULT_MIN_SCALE } from '../../analysis/layer.js';
import {
  DEFAULT_NORMALIZATION,
  DEFAULT_THRESHOLD,
  filterMetrics,
  type Normalization,
} from '../../analysis/metrics.js';
import { proceduralLabelNames } from '../../data/procedural.js';
// engine/probe.ts loads TensorFlow.js: its options and defaults come from probe-options.ts.
import { PROBE_DEFAULTS, type ResolvedProbeOptions } from '../../engine/probe-options.js';
import { resolveProbePoints } from '../../engine/probe-points.js';
import { appendEvent, type EventBus, type StoredEvent } from '../../events/bus.js';
import { recordProbeStatus } from '../../jobs/probe-job.js';
import { JobQueue } from '../../jobs/queue.js';
import { probeTopic } from '../../events/topics.js';
import type { Store } from '../../store/db.js';
import {
  architectures,
  filterResults,
  layerProbes,
  layers,
  probes,
  trainingRuns,
  type FilterResultRow,
  type RunStatus,
  type TrainingRunRow,
} from '../../store/schema/index.js';
import { Layer } from '../architecture/architecture.type.js';
import type { DatasetService } from '../dataset/dataset.service.js';
import { badInput, checkNumber, conflict, notFound } from '../errors.js';
import { toConnection, toPage, type ConnectionShape } from '../relay/connection.js';
import { cancelSubject, FINAL_STATUSES } from '../cancel.js';
import { followTopic } from '../stream.js';
import { decodeIntId, toGlobalId } from '../relay/global-id.js';
import { TrainingRun } from '../run/training-run.type.js';
import type { StartProbeInput } from './probe.input.js';
import {
  Cluster,
  CorrelationMatrix,
  FilterOrder,
  FilterResult,
  LayerProbe,
  Probe,
  ProbeEventType,
} from './probe.type.js';

const TERMINAL = FINAL_STATUSES;

const EVENT_TYPES = new Set<string>(Object.values(ProbeEventType));

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

export interface FilterQuery extends FilterParams {
  readonly orderBy: FilterOrder;
  readonly first?: number | null;
  readonly after?: string | null;
  readonly minSnr?: number | null;
  readonly label?: number | null;
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

/** Probes (phases 2 and 3): validation, queueing, reads, and their event streams. */
export class ProbeService {
  constructor(
    private readonly store: Store,
    private readonly datasets: DatasetService,
    private readonly bus: EventBus,
    private readonly limits: { readonly maxQueuedJobs: number },
  ) {}

  /**
   * A queued probe ends CANCELLED at once; a running one is CANCELLING until its engine stops at
   * the end of the batch in progress. A second cancel answers the same CANCELLING probe; a
   * finished probe is a CONFLICT.
   */
  cancel(key: number, id: string): Promise<Probe> {
    return cancelSubject(this.store, {
      noun: 'probe',
      typeName: 'Probe',
      id,
      job: { kind: 'probe', probeId: key },
      find: () => this.findOne(key),
      lockedStatus: async (tx) => {
        const [row] = await tx
          .select({ status: probes.status })
          .from(probes)
          .where(eq(probes.id, key))
          .for('update');
        return row?.status;
      },
      record: (tx, status, fields, payload) => recordProbeStatus(tx, key, status, fields, payload),
    });
  }

  async findOne(key: number): Promise<Probe | null> {
    const [row] = await this.store.db.select().from(probes).where(eq(probes.id, key));
    return row ? Probe.fromRow(row) : null;
  }

  /** A run's probes, oldest first. */
  async ofRun(runKey: number): Promise<Probe[]> {
    const rows = await this.store.db
      .select()
      .from(probes)
      .where(eq(probes.runId, runKey))
      .orderBy(asc(probes.id));
    return rows.map(Probe.fromRow);
  }

  async run(probe: Probe): Promise<TrainingRun> {
    const [row] = await this.store.db
      .select()
      .from(trainingRuns)
      .where(eq(trainingRuns.id, probe.runKey));
    if (!row) throw notFound('TrainingRun', toGlobalId('TrainingRun', probe.runKey));
    return TrainingRun.fromRow(row);
  }

  /** A probe's layers, in network order. */
  async layersOf(probe: Probe): Promise<LayerProbe[]> {
    const rows = await this.store.db
      .select()
      .from(layerProbes)
      .where(eq(layerProbes.probeId, probe.key));
    const order = new Map(probe.layerNames.map((name, i) => [name, i]));
    return rows
      .sort((a, b) => (order.get(a.layerName) ?? 0) - (order.get(b.layerName) ?? 0) || a.id - b.id)
      .map(LayerProbe.fromRow);
  }

  /** A layer's LayerProbe in each probe, oldest probe first. */
  async ofLayer(layerKey: number): Promise<LayerProbe[]> {
    const rows = await this.store.db
      .select()
      .from(layerProbes)
      .where(eq(layerProbes.layerId, layerKey))
      .orderBy(asc(layerProbes.probeId));
    return rows.map(LayerProbe.fromRow);
  }

  async layerOf(layerProbe: LayerProbe): Promise<Layer> {
    const [row] = await this.store.db
      .select()
      .from(layers)
      .where(eq(layers.id, layerProbe.layerKey));
    if (!row) throw notFound('Layer', toGlobalId('Layer', layerProbe.layerKey));
    return Layer.fromRow(row);
  }

  async probeOf(layerProbe: LayerProbe): Promise<Probe> {
    const probe = await this.findOne(layerProbe.probeKey);
    if (!probe) throw notFound('Probe', toGlobalId('Probe', layerProbe.probeKey));
    return probe;
  }

  async layerProbeOf(filter: FilterResult): Promise<LayerProbe> {
    const layerProbe = await this.findLayerProbe(filter.layerProbeKey);
    if (!layerProbe) throw notFound('LayerProbe', toGlobalId('LayerProbe', filter.layerProbeKey));
    return layerProbe;
  }

  async findLayerProbe(key: number): Promise<LayerProbe | null> {
    const [row] = await this.store.db.select().from(layerProbes).where(eq(layerProbes.id, key));
    return row ? LayerProbe.fromRow(row) : null;
  }

  async findFilter(key: number): Promise<FilterResult | null> {
    const [row] = await this.store.db.select().from(filterResults).where(eq(filterResults.id, key));
    if (!row) return null;
    const context = await this.contextOf(row.layerProbeId);
    return context ? this.toFilterResult(row, context, DEFAULT_FILTER_PARAMS) : null;
  }

  /**
   * A layer's filters: sorted and filtered in SQL by the metrics stored for the default
   * parameters; the values returned are recomputed for `threshold`, `normalization`, `minScale`.
   * Offset cursors.
   */
  async filters(layer: LayerProbe, query: FilterQuery): Promise<ConnectionShape<FilterResult>> {
    const page = toPage({ first: query.first, after: query.after });
    const params = this.checkParams(query);
    checkNumber('minSnr', query.minSnr, -Infinity, Infinity, false);
    checkNumber('label', query.label, 0, 10_000, true);
    const conditions: SQL[] = [eq(filterResults.layerProbeId, layer.key)];
    if (query.minSnr !== undefined && query.minSnr !== null)
      conditions.push(gte(filterResults.snr, query.minSnr));
    if (query.label !== undefined && query.label !== null)
      conditions.push(eq(filterResults.preferredLabel, query.label));
    const order: SQL[] = {
      [FilterOrder.INDEX]: [],
      // PostgreSQL puts nulls first in descending order; null SNRs (no noise) go last.
      [FilterOrder.SNR_DESC]: [sql`${filterResults.snr} desc nulls last`],
      [FilterOrder.ABLATION_DESC]: [desc(filterResults.ablation)],
      [FilterOrder.SCALE_DESC]: [desc(filterResults.scale)],
    }[query.orderBy];
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
    const labelNames = await this.labelNamesOfProbe(layer.probeKey);
    const context = { layerName: layer.layerName, labelNames };
    return toConnection(
      rows.map((row, i) => ({ row, position: page.afterKey + i + 1 })),
      page,
      (r) => r.position,
      (r) => this.toFilterResult(r.row, context, params),
      Number(total?.n ?? 0),
    );
  }

  /** Every filter of a layer in index order, read in batches: for exports, which have no page cap. */
  async *allFilters(layer: LayerProbe, batch = 256): AsyncGenerator<FilterResult> {
    const labelNames = await this.labelNamesOfProbe(layer.probeKey);
    const context = { layerName: layer.layerName, labelNames };
    for (let from = 0; ;) {
      const rows = await this.store.db
        .select()
        .from(filterResults)
        .where(and(eq(filterResults.layerProbeId, layer.key), gte(filterResults.index, from)))
        .orderBy(asc(filterResults.index))
        .limit(batch);
      for (const row of rows) yield this.toFilterResult(row, context, DEFAULT_FILTER_PARAMS);
      const last = rows.at(-1);
      if (rows.length < batch || !last) return;
      from = last.index + 1;
    }
  }

  /** Validates everything, then stores the probe, its layers and its job in one transaction. */
  async start(input: StartProbeInput, requestedBy = 'anonymous'): Promise<Probe> {
    const runKey = decodeIntId(input.runId, 'TrainingRun', 'input.runId');
    const [run] = await this.store.db
      .select()
      .from(trainingRuns)
      .where(eq(trainingRuns.id, runKey));
    if (!run) throw notFound('TrainingRun', input.runId);
    if (run.status !== 'SUCCEEDED')
      throw conflict(`run ${input.runId} is ${run.status}: only a SUCCEEDED run can be probed`, {
        id: input.runId,
        status: run.status,
      });
    const [arch] = await this.store.db
      .select()
      .from(architectures)
      .where(eq(architectures.id, run.architectureId));
    if (!arch) throw notFound('Architecture', toGlobalId('Architecture', run.architectureId));
    const convLayers = (
      await this.store.db
        .select()
        .from(layers)
        .where(eq(layers.architectureId, arch.id))
        .orderBy(asc(layers.index))
    ).filter((l) => l.kind === 'conv');
    const convNames = convLayers.map((l) => l.name);

    if (input.layers !== undefined && input.layers !== null) {
      if (input.layers.length === 0)
        throw badInput('input.layers', [], `must name at least one of ${convNames.join(', ')}`);
      const seen = new Set<string>();
      input.layers.forEach((name, i) => {
        if (!convNames.includes(name))
          throw badInput(
            `input.layers[${i}]`,
            name,
            `is not a conv layer of architecture ${JSON.stringify(arch.name)} (valid: ${convNames.join(', ')})`,
          );
        if (seen.has(name)) throw badInput(`input.layers[${i}]`, name, 'is named twice');
        seen.add(name);
      });
    }
    const chosen = input.layers ? convNames.filter((n) => input.layers!.includes(n)) : convNames;
    if (chosen.length === 0)
      throw badInput('input.runId', input.runId, `architecture ${arch.name} has no conv layer`);

    checkNumber('input.headEpochs', input.headEpochs, 1, 1000, true);
    checkNumber('input.learningRate', input.learningRate, 0, 10, false, true);
    checkNumber('input.momentum', input.momentum, 0, 0.999999, false);
    checkNumber('input.weightDecay', input.weightDecay, 0, 1, false);
    checkNumber('input.batchSize', input.batchSize, 1, 8192, true);
    checkNumber('input.maxFeatures', input.maxFeatures, 1, 2 ** 24, true);
    checkNumber(
      'input.maxTrainExamples',
      input.maxTrainExamples,
      1,
      Math.max(1, run.trainExamples ?? 2 ** 31 - 1),
      true,
    );
    checkNumber(
      'input.maxTestExamples',
      input.maxTestExamples,
      1,
      Math.max(1, run.testExamples ?? 2 ** 31 - 1),
      true,
    );
    checkNumber('input.seed', input.seed, 0, 0xffffffff, true);

    const options: ResolvedProbeOptions = {
      layers: chosen,
      afterPooling: input.afterPooling ?? PROBE_DEFAULTS.afterPooling,
      maxFeatures: input.maxFeatures ?? PROBE_DEFAULTS.maxFeatures,
      headEpochs: input.headEpochs ?? PROBE_DEFAULTS.headEpochs,
      learningRate: input.learningRate ?? PROBE_DEFAULTS.learningRate,
      momentum: input.momentum ?? PROBE_DEFAULTS.momentum,
      weightDecay: input.weightDecay ?? PROBE_DEFAULTS.weightDecay,
      batchSize: input.batchSize ?? PROBE_DEFAULTS.batchSize,
      maxTrainExamples: input.maxTrainExamples ?? null,
      maxTestExamples: input.maxTestExamples ?? null,
      featureCacheBytes: PROBE_DEFAULTS.featureCacheBytes,
      seed: input.seed ?? PROBE_DEFAULTS.seed,
      metrics: { ...DEFAULT_FILTER_PARAMS },
      filtersPerEvent: PROBE_DEFAULTS.filtersPerEvent,
    };
    let points;
    try {
      points = resolveProbePoints(arch.spec, chosen, options.afterPooling, options.maxFeatures);
    } catch (error) {
      throw badInput('input.layers', chosen, (error as Error).message);
    }
    const layerIds = new Map(convLayers.map((l) => [l.name, l.id]));

    const row = await this.store.db.transaction(async (tx) => {
      const [probe] = await tx
        .insert(probes)
        .values({
          runId: runKey,
          options: options as unknown as Record<string, unknown>,
          layerNames: chosen,
        })
        .returning();
      await tx.insert(layerProbes).values(
        points.map((p) => ({
          probeId: probe!.id,
          layerId: layerIds.get(p.layer)!,
          layerName: p.layer,
          probePoint: {
            shape: [...p.shape],
            extraPoolings: p.extraPoolings,
            poolings: [...p.poolings],
          },
        })),
      );
      await JobQueue.enqueue(
        tx,
        { kind: 'probe', runId: runKey, probeId: probe!.id, maxAttempts: 3, requestedBy },
        this.limits.maxQueuedJobs,
      );
      await appendEvent(tx, probeTopic(probe!.id), 'status', { status: 'QUEUED' });
      return probe!;
    });
    return Probe.fromRow(row);
  }

  /** Replays a probe's events after `afterSequence`, then streams them; ends after it ends. */
  async progress(
    probeId: string,
    afterSequence: number | null | undefined,
  ): Promise<AsyncGenerator<StoredEvent>> {
    const key = decodeIntId(probeId, 'Probe', 'probeId');
    if (!(await this.findOne(key))) throw notFound('Probe', probeId);
    return this.knownEvents(
      await followTopic(this.bus, probeTopic(key), {
        afterSequence,
        defaultAfter: 'start',
        finished: async () => TERMINAL.includes((await this.findOne(key))!.status),
        until: isFinal,
      }),
    );
  }

  /** Every FilterResult of a probe (optionally one layer), as stored; ends after the probe ends. */
  async filterResults(
    probeId: string,
    layer: string | null | undefined,
  ): Promise<AsyncGenerator<FilterResult>> {
    const key = decodeIntId(probeId, 'Probe', 'probeId');
    const probe = await this.findOne(key);
    if (!probe) throw notFound('Probe', probeId);
    if (layer !== undefined && layer !== null && !probe.layerNames.includes(layer))
      throw badInput(
        'layer',
        layer,
        `is not a layer of this probe (${probe.layerNames.join(', ')})`,
      );
    return this.streamFilters(probe, layer ?? null);
  }

  private async *streamFilters(probe: Probe, layer: string | null): AsyncGenerator<FilterResult> {
    const labelNames = await this.labelNamesOfProbe(probe.key);
    const layerKeys = new Map<string, number>();
    const events = this.bus.subscribe(probeTopic(probe.key), { afterSequence: 0, until: isFinal });
    for await (const event of events) {
      if (event.type !== 'filters') continue;
      const name = event.payload.layer as string;
      if (layer !== null && name !== layer) continue;
      const indices = (event.payload.indices as number[] | undefined) ?? [];
      if (indices.length === 0) continue;
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
        .where(and(eq(filterResults.layerProbeId, layerKey), inArray(filterResults.index, indices)))
        .orderBy(asc(filterResults.index));
      for (const row of rows)
        yield this.toFilterResult(row, { layerName: name, labelNames }, DEFAULT_FILTER_PARAMS);
    }
  }

  private async *knownEvents(events: AsyncGenerator<StoredEvent>): AsyncGenerator<StoredEvent> {
    for await (const event of events) if (EVENT_TYPES.has(event.type)) yield event;
  }

  private checkParams(query: Partial<FilterParams>): FilterParams {
    const threshold = query.threshold ?? DEFAULT_THRESHOLD;
    const minScale = query.minScale ?? DEFAULT_MIN_SCALE;
    const normalization = query.normalization ?? DEFAULT_NORMALIZATION;
    // COLUMN_CENTERED and MAX matrices lie in [-1, 1] with their largest entry at 1: a threshold
    // above 1 marks nothing and one below 0 marks the noise floor, so every SNR would be
    // meaningless. NONE compares raw values, whose scale is the network's own.
    const unit = normalization !== 'NONE';
    if (!Number.isFinite(threshold) || (unit && (threshold < 0 || threshold > 1)))
      throw badInput(
        'threshold',
        threshold,
        unit
          ? `must be a number in [0, 1] with normalization ${normalization} (its entries are at most 1; NONE takes any finite number)`
          : 'must be a finite number',
      );
    checkNumber('minScale', minScale, 0, 1, false);
    return { threshold, minScale, normalization };
  }

  private toFilterResult(
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
      : filterMetrics(values, {
          threshold: params.threshold,
          normalization: params.normalization,
        });
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
      }),
    });
  }

  private async contextOf(layerProbeKey: number): Promise<FilterContext | null> {
    const [row] = await this.store.db
      .select({ layerName: layerProbes.layerName, probeId: layerProbes.probeId })
      .from(layerProbes)
      .where(eq(layerProbes.id, layerProbeKey));
    if (!row) return null;
    return { layerName: row.layerName, labelNames: await this.labelNamesOfProbe(row.probeId) };
  }

  /** The label names of a probe's run's dataset (procedural: from its label count). */
  private async labelNamesOfProbe(probeKey: number): Promise<string[]> {
    const [row] = await this.store.db
      .select({ run: trainingRuns })
      .from(probes)
      .innerJoin(trainingRuns, eq(probes.runId, trainingRuns.id))
      .where(eq(probes.id, probeKey));
    return row ? this.labelNamesOfRun(row.run) : [];
  }

  private labelNamesOfRun(run: TrainingRunRow): string[] {
    if (run.dataset === 'procedural') {
      const labels = Number(run.datasetOptions.labels ?? 10);
      try {
        return proceduralLabelNames(labels);
      } catch {
        return [];
      }
    }
    return [...(this.datasets.findByName(run.dataset)?.labelNames ?? [])];
  }
}

const isFinal = (e: StoredEvent): boolean =>
  e.type === 'status' && TERMINAL.includes(e.payload.status as RunStatus);
