import { asc, eq } from 'drizzle-orm';
import { probeTopic, type ProbeEvents, type StoredEvent } from '../../contract/events.js';
import { planProbe } from '../../contract/probe-options.js';
import { isFinal } from '../../contract/status.js';
import { appendEvent, type EventBus } from '../../events/bus.js';
import { recordProbeStatus } from '../../jobs/status.js';
import type { Store } from '../../store/db.js';
import {
  architectures,
  layerProbes,
  layers,
  probes,
  trainingRuns,
} from '../../store/schema/index.js';
import { cancelSubject } from '../cancel.js';
import { enqueueLaunch } from '../enqueue.js';
import { conflict, enteringContract, notFound } from '../errors.js';
import { decodeIntId, toGlobalId } from '../relay/global-id.js';
import { followTopic } from '../stream.js';
import { DEFAULT_FILTER_PARAMS } from './filter.service.js';
import type { StartProbeInput } from './probe.input.js';
import { LayerProbe, Probe } from './probe.type.js';

/** Probes (phases 2 and 3): planning and queueing, cancelling, reads, and the progress stream. */
export class ProbeService {
  constructor(
    private readonly store: Store,
    private readonly bus: EventBus,
    private readonly limits: { readonly maxQueuedJobs: number },
  ) {}

  async findOne(key: number): Promise<Probe | null> {
    const [row] = await this.store.db.select().from(probes).where(eq(probes.id, key));
    return row ? Probe.fromRow(row) : null;
  }

  /** A run's probes, oldest first. */
  async findByRun(runKey: number): Promise<Probe[]> {
    const rows = await this.store.db
      .select()
      .from(probes)
      .where(eq(probes.runId, runKey))
      .orderBy(asc(probes.id));
    return rows.map(Probe.fromRow);
  }

  async findLayer(key: number): Promise<LayerProbe | null> {
    const [row] = await this.store.db.select().from(layerProbes).where(eq(layerProbes.id, key));
    return row ? LayerProbe.fromRow(row) : null;
  }

  /** A probe's layers, in network order. */
  async findLayers(probe: Probe): Promise<LayerProbe[]> {
    const rows = await this.store.db
      .select()
      .from(layerProbes)
      .where(eq(layerProbes.probeId, probe.key));
    const order = new Map(probe.layerNames.map((name, i) => [name, i]));
    return rows
      .sort((a, b) => (order.get(a.layerName) ?? 0) - (order.get(b.layerName) ?? 0) || a.id - b.id)
      .map(LayerProbe.fromRow);
  }

  /** One architecture layer's LayerProbe in each probe, oldest probe first. */
  async findLayersOf(layerKey: number): Promise<LayerProbe[]> {
    const rows = await this.store.db
      .select()
      .from(layerProbes)
      .where(eq(layerProbes.layerId, layerKey))
      .orderBy(asc(layerProbes.probeId));
    return rows.map(LayerProbe.fromRow);
  }

  /**
   * Checks everything and plans the probe once (options resolved, probe points placed: what the
   * engine will run), then stores the probe, its layers and its job in one transaction.
   */
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
    const { runId: _runId, ...options } = input;
    const plan = enteringContract('input', () =>
      planProbe(
        { ...options, metrics: { ...DEFAULT_FILTER_PARAMS } },
        { spec: arch.spec, trainSize: run.trainExamples, testSize: run.testExamples },
      ),
    );
    const layerIds = new Map(
      (await this.store.db.select().from(layers).where(eq(layers.architectureId, arch.id))).map(
        (l) => [l.name, l.id],
      ),
    );

    const row = await this.store.db.transaction(async (tx) => {
      const [probe] = await tx
        .insert(probes)
        .values({ runId: runKey, options: plan.options, layerNames: [...plan.options.layers] })
        .returning();
      await tx.insert(layerProbes).values(
        plan.points.map((point) => ({
          probeId: probe!.id,
          layerId: layerIds.get(point.layer)!,
          layerName: point.layer,
          probePoint: point,
        })),
      );
      await enqueueLaunch(
        tx,
        { kind: 'probe', runId: runKey, probeId: probe!.id, maxAttempts: 3, requestedBy },
        this.limits.maxQueuedJobs,
      );
      await appendEvent(tx, probeTopic(probe!.id), 'status', { status: 'QUEUED' });
      return probe!;
    });
    return Probe.fromRow(row);
  }

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
      record: (tx, status, fields, details) => recordProbeStatus(tx, key, status, fields, details),
    });
  }

  /**
   * Replays a probe's events after `afterSequence`, then streams them live; ends after the probe
   * ends. NOT_FOUND for a probe that does not exist; see `followTopic` for `afterSequence`.
   */
  async progress(
    probeId: string,
    afterSequence: number | null | undefined,
  ): Promise<AsyncGenerator<StoredEvent<ProbeEvents>>> {
    const key = decodeIntId(probeId, 'Probe', 'probeId');
    if (!(await this.findOne(key))) throw notFound('Probe', probeId);
    return followTopic(this.bus, probeTopic(key), {
      afterSequence,
      defaultAfter: 'start',
      finished: async () => isFinal((await this.findOne(key))!.status),
      until: (e) => e.type === 'status' && isFinal(e.payload.status),
    });
  }
}
