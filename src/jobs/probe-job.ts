import { eq, inArray, sql } from 'drizzle-orm';
import { MessageType, type InboundMessage, type OutboundMessage } from '../engine/protocol.js';
import { appendEvent } from '../events/bus.js';
import { probeTopic } from '../events/topics.js';
import type { Db } from '../store/db.js';
import type { FilterSummary } from '../engine/probe.js';
import {
  architectures,
  filterResults,
  layerProbes,
  probes,
  trainingRuns,
  type JobRow,
  type RunStatus,
} from '../store/schema/index.js';
import { loadLatestCheckpoint } from './checkpoint-store.js';
import { JobQueue } from './queue.js';
import {
  attemptsExhausted,
  cancelIn,
  driveEngine,
  recordCancelled,
  recordFailed,
  type JobSubject,
  type JobContext,
  type JobOutcome,
} from './engine-job.js';

/** Writes a probe's status and its `status` event in the caller's transaction. */
export async function recordProbeStatus(
  tx: Db,
  probeId: number,
  status: RunStatus,
  fields: Partial<typeof probes.$inferInsert>,
  payload: Record<string, unknown> = {},
): Promise<void> {
  await tx
    .update(probes)
    .set({ status, ...fields })
    .where(eq(probes.id, probeId));
  await appendEvent(tx, probeTopic(probeId), 'status', { status, ...payload });
}

/**
 * Runs one claimed probe job (phases 2 and 3 on the run's last checkpoint) in an engine thread.
 * A probe has no checkpoints of its own: an interrupted one starts again from the beginning, so
 * its partial rows are cleared first.
 */
export async function runProbeJob(job: JobRow, ctx: JobContext): Promise<JobOutcome> {
  const { store } = ctx;
  const probeId = job.probeId!;
  const [probe] = await store.db.select().from(probes).where(eq(probes.id, probeId));
  const subject: JobSubject = {
    ids: { probeId },
    recordStatus: (tx, status, fields, payload) =>
      recordProbeStatus(tx, probeId, status, fields, payload),
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
    .where(eq(layerProbes.probeId, probeId));
  const layerIds = new Map(layerRows.map((l) => [l.layerName, l.id]));
  // Start over: results of an interrupted attempt are incomplete.
  await store.db.transaction(async (tx) => {
    if (layerRows.length > 0) {
      await tx.delete(filterResults).where(
        inArray(
          filterResults.layerProbeId,
          layerRows.map((l) => l.id),
        ),
      );
    }
    await tx
      .update(layerProbes)
      .set({
        successRate: null,
        history: [],
        aggregates: null,
        afcc: null,
        probePoint: null,
        complete: false,
      })
      .where(eq(layerProbes.probeId, probeId));
  });
  const log = ctx.log.child({ jobId: job.id, probeId, attempt: job.attempts });
  log.info('probe job starting', { checkpointEpoch: checkpoint.epoch });
  const topic = probeTopic(probeId);
  const layerId = (name: unknown): number => {
    const id = layerIds.get(String(name));
    if (id === undefined)
      throw new Error(
        `engine reported layer ${String(name)}, which probe ${probeId} does not probe`,
      );
    return id;
  };

  const handle = async (message: OutboundMessage): Promise<JobOutcome | null> => {
    switch (message.type) {
      case MessageType.ProbeEvent: {
        const event = message.event as unknown as Record<string, unknown> & { type: string };
        await store.db.transaction(async (tx) => {
          switch (event.type) {
            case 'started': {
              const fields = {
                backend: String(event.backend),
                device: typeof event.device === 'string' ? event.device : null,
                startedAt: probe.startedAt ?? new Date(),
                error: null,
              };
              // A cancel committed since the claim: the probe stays CANCELLING.
              if (await JobQueue.cancelPending(tx, job.id))
                await tx.update(probes).set(fields).where(eq(probes.id, probeId));
              else
                await recordProbeStatus(tx, probeId, 'RUNNING', fields, {
                  attempt: job.attempts,
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
                .where(eq(layerProbes.id, layerId(event.layer)));
              await appendEvent(tx, topic, 'headEpoch', { layer: event.layer, ...entry });
              return;
            }
            case 'layerSR':
              await tx
                .update(layerProbes)
                .set({ successRate: Number(event.successRate) })
                .where(eq(layerProbes.id, layerId(event.layer)));
              await appendEvent(tx, topic, 'layerSR', {
                layer: event.layer,
                successRate: event.successRate,
              });
              return;
            case 'filters': {
              const id = layerId(event.layer);
              const filters = event.filters as FilterSummary[];
              if (filters.length > 0) {
                await tx.insert(filterResults).values(
                  filters.map(({ matrix, ...metrics }) => ({
                    ...metrics,
                    layerProbeId: id,
                    labels: Math.round(Math.sqrt(matrix.length)),
                    matrix: new Uint8Array(Float32Array.from(matrix).buffer),
                  })),
                );
              }
              // The metrics ride along (the raw matrices stay in the rows): a client sees each
              // filter's result as it is stored without a query.
              await appendEvent(tx, topic, 'filters', {
                layer: event.layer,
                indices: filters.map((f) => f.index),
                filters: filters.map(({ matrix: _matrix, ...metrics }) => metrics),
              });
              return;
            }
            case 'layerDone':
              await tx
                .update(layerProbes)
                .set({
                  aggregates: event.aggregates as Record<string, unknown>,
                  afcc: event.afcc as Record<string, unknown>,
                  probePoint: event.probePoint as Record<string, unknown>,
                  complete: true,
                })
                .where(eq(layerProbes.id, layerId(event.layer)));
              await appendEvent(tx, topic, 'layerDone', { layer: event.layer });
              return;
          }
        });
        return null;
      }
      case MessageType.ProbeFinished:
        return store.db.transaction(async (tx): Promise<JobOutcome> => {
          // A cancel that was answered never ends SUCCEEDED (see the training job).
          if (await JobQueue.cancelPending(tx, job.id)) {
            await cancelIn(tx, job, subject);
            return 'cancelled';
          }
          await JobQueue.finish(tx, job.id, 'succeeded');
          await recordProbeStatus(tx, probeId, 'SUCCEEDED', {
            forwardCalls: message.forwardCalls,
            finishedAt: new Date(),
          });
          return 'succeeded';
        });
      case MessageType.Cancelled:
        return recordCancelled(
          store,
          job,
          subject,
          message.batchesAfterCancel === undefined
            ? {}
            : { batchesAfterCancel: message.batchesAfterCancel },
        );
      default:
        return null;
    }
  };

  const start: InboundMessage = {
    type: MessageType.Probe,
    job: {
      architecture: arch.spec,
      dataset: { name: run.dataset, options: run.datasetOptions },
      options: probe.options,
    },
    checkpoint: checkpoint.bytes,
  } as InboundMessage;
  return driveEngine(job, ctx, log, subject, start, handle);
}
