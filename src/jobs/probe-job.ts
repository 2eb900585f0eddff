import { asc, eq, inArray, sql } from 'drizzle-orm';
import { probeTopic } from '../contract/events.js';
import type { ProbeEvent } from '../contract/probe-events.js';
import type { ProbePlan } from '../contract/probe-options.js';
import { checkProbePoint } from '../contract/probe-points.js';
import { MessageType, type InboundMessage, type OutboundMessage } from '../contract/protocol.js';
import { appendEvent } from '../events/bus.js';
import type { Db, Store } from '../store/db.js';
import {
  architectures,
  filterResults,
  layerProbes,
  probes,
  trainingRuns,
  type JobRow,
  type LayerProbeRow,
  type ProbeRow,
} from '../store/schema/index.js';
import { loadLatestCheckpoint } from './checkpoint-store.js';
import {
  attemptsExhausted,
  cancelIn,
  driveEngine,
  recordCancelled,
  recordFailed,
  type JobContext,
  type JobOutcome,
  type JobSubject,
} from './engine-job.js';
import { JobQueue } from './queue.js';
import { recordProbeStatus } from './status.js';

/**
 * Runs one claimed probe job (phases 2 and 3 on the run's last checkpoint) in an engine thread,
 * with the plan the API made when the probe was started. A probe has no checkpoints of its own:
 * an interrupted one starts again from the beginning, so its partial results are cleared first.
 */
export async function runProbeJob(job: JobRow, ctx: JobContext): Promise<JobOutcome> {
  const { store } = ctx;
  const probeId = job.probeId!;
  const [probe] = await store.db.select().from(probes).where(eq(probes.id, probeId));
  const subject: JobSubject = {
    ids: { probeId },
    recordStatus: (tx, status, fields, details) =>
      recordProbeStatus(tx, probeId, status, fields, details),
  };
  const fail = (error: string) => recordFailed(store, job, probe ? subject : null, error);
  if (!probe) return fail(`probe ${probeId} no longer exists`);
  if (job.cancelRequested) return recordCancelled(store, job, subject);
  const exhausted = attemptsExhausted(job);
  if (exhausted) return fail(exhausted);
  const [run] = await store.db.select().from(trainingRuns).where(eq(trainingRuns.id, probe.runId));
  const [arch] = run
    ? await store.db.select().from(architectures).where(eq(architectures.id, run.architectureId))
    : [];
  const checkpoint = run ? await loadLatestCheckpoint(store, run.id) : null;
  if (!run || !arch || !checkpoint)
    return fail(`run ${probe.runId} has no complete checkpoint to probe`);
  const layerRows = await store.db
    .select()
    .from(layerProbes)
    .where(eq(layerProbes.probeId, probeId))
    .orderBy(asc(layerProbes.id));
  const plan = planOf(probe, layerRows);
  if (typeof plan === 'string') return fail(plan);
  await clearResults(store, layerRows);

  const log = ctx.log.child({ jobId: job.id, probeId, attempt: job.attempts });
  log.info('probe job starting', { checkpointEpoch: checkpoint.epoch });
  const recorder = new ProbeRecorder(store, job, probe, layerRows, subject);
  const start: InboundMessage = {
    type: MessageType.Probe,
    job: {
      architecture: arch.spec,
      dataset: { name: run.dataset, options: run.datasetOptions },
      plan,
    },
    checkpoint: checkpoint.bytes,
  };
  return driveEngine(job, ctx, log, subject, start, (message) => recorder.record(message));
}

/**
 * The plan stored when the probe was started: its options and the probe point of each layer,
 * in network order. A probe planned by an older filterscope (its rows lack full probe points)
 * cannot run: the reason comes back as a string.
 */
function planOf(probe: ProbeRow, layerRows: readonly LayerProbeRow[]): ProbePlan | string {
  const byName = new Map(layerRows.map((l) => [l.layerName, l.probePoint]));
  const points = probe.options.layers.map((name) => byName.get(name));
  try {
    points.forEach((point, i) => checkProbePoint(point, `points[${i}]`));
  } catch {
    return `probe ${probe.id} was planned by an older filterscope (its probe points are incomplete): start a new probe`;
  }
  return { options: probe.options, points: points.filter((p) => p !== null && p !== undefined) };
}

/** Clears what an interrupted attempt stored: the probe starts over. */
async function clearResults(store: Store, layerRows: readonly LayerProbeRow[]): Promise<void> {
  if (layerRows.length === 0) return;
  const ids = layerRows.map((l) => l.id);
  await store.db.transaction(async (tx) => {
    await tx.delete(filterResults).where(inArray(filterResults.layerProbeId, ids));
    await tx
      .update(layerProbes)
      .set({
        successRate: null,
        history: [],
        aggregates: null,
        replicates: null,
        afcc: null,
        complete: false,
      })
      .where(inArray(layerProbes.id, ids));
  });
}

/** Turns one probe job's engine messages into rows and events, each in its transaction. */
class ProbeRecorder {
  private readonly layerIds: Map<string, number>;
  private readonly topic;

  constructor(
    private readonly store: Store,
    private readonly job: JobRow,
    private readonly probe: ProbeRow,
    layerRows: readonly LayerProbeRow[],
    private readonly subject: JobSubject,
  ) {
    this.layerIds = new Map(layerRows.map((l) => [l.layerName, l.id]));
    this.topic = probeTopic(probe.id);
  }

  /** Records `message`; the job's outcome once it is terminal, else null. */
  async record(message: OutboundMessage): Promise<JobOutcome | null> {
    switch (message.type) {
      case MessageType.ProbeEvent:
        await this.store.db.transaction((tx) => this.event(tx, message.event));
        return null;
      case MessageType.ProbeFinished:
        return this.store.db.transaction(async (tx): Promise<JobOutcome> => {
          // A cancel that was answered never ends SUCCEEDED (see the training job).
          if (await JobQueue.cancelPending(tx, this.job.id)) {
            await cancelIn(tx, this.job, this.subject);
            return 'cancelled';
          }
          await JobQueue.finish(tx, this.job.id, 'succeeded');
          await recordProbeStatus(tx, this.probe.id, 'SUCCEEDED', {
            forwardCalls: message.forwardCalls,
            timings: message.timings,
            finishedAt: new Date(),
          });
          return 'succeeded';
        });
      case MessageType.Cancelled:
        return recordCancelled(
          this.store,
          this.job,
          this.subject,
          message.batchesAfterCancel === undefined
            ? {}
            : { batchesAfterCancel: message.batchesAfterCancel },
        );
      default:
        return null;
    }
  }

  private layerId(name: string): number {
    const id = this.layerIds.get(name);
    if (id === undefined)
      throw new Error(`engine reported layer ${name}, which probe ${this.probe.id} does not probe`);
    return id;
  }

  private async event(tx: Db, event: ProbeEvent): Promise<void> {
    switch (event.type) {
      case 'started': {
        const fields = {
          backend: event.backend,
          device: event.device ?? null,
          startedAt: this.probe.startedAt ?? new Date(),
          error: null,
        };
        // A cancel committed since the claim: the probe stays CANCELLING.
        if (await JobQueue.cancelPending(tx, this.job.id))
          await tx.update(probes).set(fields).where(eq(probes.id, this.probe.id));
        else
          await recordProbeStatus(tx, this.probe.id, 'RUNNING', fields, {
            attempt: this.job.attempts,
            backend: event.backend,
            trainExamples: event.trainExamples,
            testExamples: event.testExamples,
          });
        return;
      }
      case 'headEpoch': {
        const entry = {
          epoch: event.epoch,
          trainLoss: event.trainLoss,
          testSR: event.testSR,
          learningRate: event.learningRate,
        };
        await tx
          .update(layerProbes)
          .set({ history: sql`${layerProbes.history} || ${JSON.stringify([entry])}::jsonb` })
          .where(eq(layerProbes.id, this.layerId(event.layer)));
        await appendEvent(tx, this.topic, 'headEpoch', { layer: event.layer, ...entry });
        return;
      }
      case 'layerSR':
        await tx
          .update(layerProbes)
          .set({ successRate: event.successRate })
          .where(eq(layerProbes.id, this.layerId(event.layer)));
        await appendEvent(tx, this.topic, 'layerSR', {
          layer: event.layer,
          successRate: event.successRate,
        });
        return;
      case 'filters': {
        const id = this.layerId(event.layer);
        if (event.filters.length > 0) {
          await tx.insert(filterResults).values(
            event.filters.map(({ matrix, ...metrics }) => ({
              ...metrics,
              layerProbeId: id,
              labels: Math.round(Math.sqrt(matrix.length)),
              matrix: new Uint8Array(Float32Array.from(matrix).buffer),
            })),
          );
        }
        // The metrics ride along (the raw matrices stay in the rows): a client sees each
        // filter's result as it is stored without a query.
        await appendEvent(tx, this.topic, 'filters', {
          layer: event.layer,
          indices: event.filters.map((f) => f.index),
          filters: event.filters.map(({ matrix: _matrix, ...metrics }) => metrics),
        });
        return;
      }
      case 'features':
        await appendEvent(tx, this.topic, 'features', {
          split: event.split,
          done: event.done,
          total: event.total,
          imagesPerSecond: event.imagesPerSecond,
        });
        return;
      case 'layerDone':
        // The probe point was stored with the plan; the engine's copy is not written back.
        await tx
          .update(layerProbes)
          .set({
            aggregates: event.aggregates,
            replicates: event.replicates,
            afcc: event.afcc,
            complete: true,
          })
          .where(eq(layerProbes.id, this.layerId(event.layer)));
        await appendEvent(tx, this.topic, 'layerDone', { layer: event.layer });
        return;
    }
  }
}
