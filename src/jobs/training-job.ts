import { eq, sql } from 'drizzle-orm';
import {
  MessageType,
  type EpochMetrics,
  type InboundMessage,
  type OutboundMessage,
} from '../engine/protocol.js';
import { appendEvent } from '../events/bus.js';
import { RUNS_TOPIC, runTopic } from '../events/topics.js';
import type { Db } from '../store/db.js';
import {
  architectures,
  runMetrics,
  trainingRuns,
  type JobRow,
  type RunStatus,
} from '../store/schema/index.js';
import {
  completeCheckpoint,
  dropIncompleteCheckpoints,
  loadLatestCheckpoint,
  writeCheckpointChunks,
} from './checkpoint-store.js';
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

export type { JobOutcome } from './engine-job.js';

export type TrainingJobContext = JobContext;

/** Writes a run's status, the run's own event and the all-runs event, in the caller's transaction. */
export async function recordStatus(
  tx: Db,
  runId: number,
  status: RunStatus,
  fields: Partial<typeof trainingRuns.$inferInsert>,
  payload: Record<string, unknown>,
): Promise<void> {
  await tx
    .update(trainingRuns)
    .set({ status, ...fields })
    .where(eq(trainingRuns.id, runId));
  await appendEvent(tx, runTopic(runId), 'status', { status, ...payload });
  await appendEvent(tx, RUNS_TOPIC, 'status', { runId, status, ...payload });
}

/**
 * Runs one claimed training job in an engine thread and turns each engine message into rows and
 * events. An epoch's metrics are written together with its checkpoint, so that a runner killed
 * between the two leaves neither and the resumed run records that epoch exactly once.
 */
export async function runTrainingJob(job: JobRow, ctx: TrainingJobContext): Promise<JobOutcome> {
  const { store, log } = ctx;
  const runId = job.runId!;
  const [run] = await store.db.select().from(trainingRuns).where(eq(trainingRuns.id, runId));
  const subject: JobSubject = {
    ids: { runId },
    recordStatus: (tx, status, fields, payload) => recordStatus(tx, runId, status, fields, payload),
  };
  if (!run) return recordFailed(store, job, null, `run ${runId} no longer exists`);
  if (job.cancelRequested) return recordCancelled(store, job, subject, { epoch: run.epochsDone });
  const exhausted = attemptsExhausted(job);
  if (exhausted) return recordFailed(store, job, subject, exhausted);
  const [arch] = await store.db
    .select()
    .from(architectures)
    .where(eq(architectures.id, run.architectureId));
  await dropIncompleteCheckpoints(store, runId);
  const resume = await loadLatestCheckpoint(store, runId);
  const jobLog = log.child({ jobId: job.id, runId, attempt: job.attempts });
  jobLog.info('training job starting', { resumeFromEpoch: resume?.epoch ?? null });

  const pending = new Map<number, EpochMetrics>();

  const handle = async (message: OutboundMessage): Promise<JobOutcome | null> => {
    switch (message.type) {
      case MessageType.Started: {
        const fields = {
          backend: message.backend,
          device: message.device,
          threads: message.threads,
          hyperparameters: message.hyperparameters as unknown as Record<string, unknown>,
          trainExamples: message.trainExamples,
          testExamples: message.testExamples,
          startedAt: run.startedAt ?? new Date(),
          error: null,
        };
        await store.db.transaction(async (tx) => {
          // A cancel committed since the claim: the run stays CANCELLING (the engine is told).
          if (await JobQueue.cancelPending(tx, job.id))
            await tx.update(trainingRuns).set(fields).where(eq(trainingRuns.id, runId));
          else
            await recordStatus(tx, runId, 'RUNNING', fields, {
              backend: message.backend,
              device: message.device,
              attempt: job.attempts,
              resumedFromEpoch: message.resumedFromEpoch,
            });
        });
        return null;
      }
      case MessageType.Step:
        await store.db.transaction((tx) =>
          appendEvent(tx, runTopic(runId), 'step', {
            epoch: message.epoch,
            batch: message.batch,
            batches: message.batches,
            loss: message.loss,
          }),
        );
        return null;
      case MessageType.Epoch:
        pending.set(message.epoch, message.metrics);
        return null;
      case MessageType.Checkpoint: {
        const metrics = pending.get(message.epoch);
        pending.delete(message.epoch);
        const checkpointId = await writeCheckpointChunks(
          store,
          runId,
          message.epoch,
          message.bytes,
        );
        await store.db.transaction(async (tx) => {
          await completeCheckpoint(tx, runId, checkpointId, run.keepCheckpoints);
          if (metrics) {
            await tx
              .insert(runMetrics)
              .values({ runId, ...metrics })
              .onConflictDoNothing();
            await appendEvent(tx, runTopic(runId), 'epoch', { ...metrics });
          }
          await tx
            .update(trainingRuns)
            .set({
              epochsDone: message.epoch,
              ...(metrics
                ? {
                    bestTestSR: sql`greatest(coalesce(${trainingRuns.bestTestSR}, 0), ${metrics.testSR})`,
                  }
                : {}),
            })
            .where(eq(trainingRuns.id, runId));
          await appendEvent(tx, runTopic(runId), 'checkpoint', {
            epoch: message.epoch,
            sizeBytes: message.bytes.byteLength,
          });
        });
        return null;
      }
      case MessageType.Finished:
        return store.db.transaction(async (tx): Promise<JobOutcome> => {
          // A cancel committed before this point wins: cancelRun answered CANCELLING, and a
          // cancel that was answered must never end SUCCEEDED. Every epoch is kept.
          if (await JobQueue.cancelPending(tx, job.id)) {
            await cancelIn(tx, job, subject, { epoch: message.epochs });
            return 'cancelled';
          }
          await JobQueue.finish(tx, job.id, 'succeeded');
          await recordStatus(
            tx,
            runId,
            'SUCCEEDED',
            {
              finalTestSR: message.finalTestSR,
              bestTestSR: message.bestTestSR,
              epochsDone: message.epochs,
              finishedAt: new Date(),
            },
            {
              finalTestSR: message.finalTestSR,
              bestTestSR: message.bestTestSR,
              bestEpoch: message.bestEpoch,
            },
          );
          return 'succeeded';
        });
      case MessageType.Cancelled:
        return recordCancelled(store, job, subject, {
          epoch: message.epoch,
          ...(message.batchesAfterCancel === undefined
            ? {}
            : { batchesAfterCancel: message.batchesAfterCancel }),
        });
      default:
        return null;
    }
  };

  const start: InboundMessage = {
    type: MessageType.Start,
    job: {
      architecture: arch!.spec,
      dataset: { name: run.dataset, options: run.datasetOptions },
      hyperparameters: run.hyperparameters as never,
    },
    resumeFrom: resume?.bytes ?? null,
  };
  return driveEngine(job, ctx, jobLog, subject, start, handle);
}
