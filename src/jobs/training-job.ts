import { eq, sql } from 'drizzle-orm';
import type { EngineWorker } from '../engine/port.js';
import { MessageType, type EpochMetrics, type OutboundMessage } from '../engine/protocol.js';
import { appendEvent } from '../events/bus.js';
import { RUNS_TOPIC, runTopic } from '../events/topics.js';
import type { Logger } from '../log.js';
import type { Db, Store } from '../store/db.js';
import {
  architectures,
  jobs,
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

export interface TrainingJobContext {
  readonly store: Store;
  readonly queue: JobQueue;
  readonly owner: string;
  readonly log: Logger;
  /** Starts the engine thread (engine/port.ts in production). */
  readonly startWorker: () => EngineWorker;
  /** Heartbeat period, ms (well under the lease). */
  readonly heartbeatMs: number;
  /** Resolves when the runner is asked to stop (graceful shutdown): the job is given back. */
  readonly stopping: Promise<void>;
}

export type JobOutcome = 'succeeded' | 'failed' | 'retrying' | 'cancelled' | 'released' | 'lost';

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
  if (!run) {
    await store.db
      .update(jobs)
      .set({ status: 'failed', lastError: `run ${runId} no longer exists`, finishedAt: new Date() })
      .where(eq(jobs.id, job.id));
    return 'failed';
  }
  if (job.cancelRequested) {
    await store.db.transaction(async (tx) => {
      await tx
        .update(jobs)
        .set({ status: 'cancelled', finishedAt: new Date() })
        .where(eq(jobs.id, job.id));
      await recordStatus(
        tx,
        runId,
        'CANCELLED',
        { finishedAt: new Date() },
        { reason: 'cancelled by request', epoch: run.epochsDone },
      );
    });
    return 'cancelled';
  }
  if (job.attempts > job.maxAttempts) {
    const error = `gave up after ${job.maxAttempts} attempts; last error: ${job.lastError ?? 'runner lost (killed or stalled)'}`;
    await store.db.transaction(async (tx) => {
      await tx
        .update(jobs)
        .set({ status: 'failed', lastError: error, finishedAt: new Date() })
        .where(eq(jobs.id, job.id));
      await recordStatus(tx, runId, 'FAILED', { error, finishedAt: new Date() }, { error });
    });
    return 'failed';
  }
  const [arch] = await store.db
    .select()
    .from(architectures)
    .where(eq(architectures.id, run.architectureId));
  await dropIncompleteCheckpoints(store, runId);
  const resume = await loadLatestCheckpoint(store, runId);
  const jobLog = log.child({ jobId: job.id, runId, attempt: job.attempts });
  jobLog.info('training job starting', { resumeFromEpoch: resume?.epoch ?? null });

  let worker: EngineWorker;
  try {
    worker = ctx.startWorker();
  } catch (error) {
    // No engine thread at all (e.g. a broken install): record it like an engine failure.
    worker = failedWorker(`could not start the engine thread: ${(error as Error).message}`);
  }
  const pending = new Map<number, EpochMetrics>();
  let chain: Promise<unknown> = Promise.resolve();
  let cancelSent = false;
  let settle: (outcome: JobOutcome) => void = () => undefined;
  const outcome = new Promise<JobOutcome>((resolve) => (settle = resolve));

  const handle = async (message: OutboundMessage): Promise<void> => {
    switch (message.type) {
      case MessageType.Started:
        await store.db.transaction((tx) =>
          recordStatus(
            tx,
            runId,
            'RUNNING',
            {
              backend: message.backend,
              device: message.device,
              threads: message.threads,
              hyperparameters: message.hyperparameters as unknown as Record<string, unknown>,
              trainExamples: message.trainExamples,
              testExamples: message.testExamples,
              startedAt: run.startedAt ?? new Date(),
              error: null,
            },
            {
              backend: message.backend,
              device: message.device,
              attempt: job.attempts,
              resumedFromEpoch: message.resumedFromEpoch,
            },
          ),
        );
        return;
      case MessageType.Step:
        await store.db.transaction((tx) =>
          appendEvent(tx, runTopic(runId), 'step', {
            epoch: message.epoch,
            batch: message.batch,
            batches: message.batches,
            loss: message.loss,
          }),
        );
        return;
      case MessageType.Epoch:
        pending.set(message.epoch, message.metrics);
        return;
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
        return;
      }
      case MessageType.Finished:
        await store.db.transaction(async (tx) => {
          await tx
            .update(jobs)
            .set({ status: 'succeeded', finishedAt: new Date(), leaseOwner: null })
            .where(eq(jobs.id, job.id));
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
        });
        settle('succeeded');
        return;
      case MessageType.Cancelled:
        await store.db.transaction(async (tx) => {
          await tx
            .update(jobs)
            .set({ status: 'cancelled', finishedAt: new Date(), leaseOwner: null })
            .where(eq(jobs.id, job.id));
          await recordStatus(
            tx,
            runId,
            'CANCELLED',
            { finishedAt: new Date() },
            { reason: 'cancelled by request', epoch: message.epoch },
          );
        });
        settle('cancelled');
        return;
      case MessageType.Failed: {
        jobLog.warn('training job failed', { error: message.error });
        const retry = job.attempts < job.maxAttempts;
        await store.db.transaction(async (tx) => {
          if (retry) {
            await tx
              .update(jobs)
              .set({
                status: 'queued',
                leaseOwner: null,
                leaseExpiresAt: null,
                lastError: message.error,
              })
              .where(eq(jobs.id, job.id));
            await recordStatus(
              tx,
              runId,
              'QUEUED',
              { error: message.error },
              { error: message.error, retrying: true, attempt: job.attempts },
            );
            await appendEvent(tx, 'jobs', 'queued', { jobId: job.id, runId });
          } else {
            await tx
              .update(jobs)
              .set({
                status: 'failed',
                lastError: message.error,
                finishedAt: new Date(),
                leaseOwner: null,
              })
              .where(eq(jobs.id, job.id));
            await recordStatus(
              tx,
              runId,
              'FAILED',
              { error: message.error, finishedAt: new Date() },
              { error: message.error },
            );
          }
        });
        settle(retry ? 'retrying' : 'failed');
        return;
      }
    }
  };

  worker.onMessage((message) => {
    chain = chain
      .then(() => handle(message))
      .catch((error: unknown) => {
        jobLog.error('could not record an engine message; the job will be retried', {
          error,
          type: message.type,
        });
        void worker.dispose();
        settle('lost');
      });
  });

  const heartbeat = setInterval(() => {
    ctx.queue.heartbeat(job.id, ctx.owner).then(
      ({ held, cancelRequested }) => {
        if (!held) {
          jobLog.warn('lease lost; stopping the engine');
          void worker.dispose();
          settle('lost');
        } else if (cancelRequested && !cancelSent) {
          cancelSent = true;
          worker.post({ type: MessageType.Cancel });
        }
      },
      (error: unknown) => jobLog.warn('heartbeat failed', { error }),
    );
  }, ctx.heartbeatMs);

  let ended = false;
  void ctx.stopping.then(async () => {
    if (ended) return;
    await worker.dispose();
    await chain.catch(() => undefined);
    await store.db.transaction((tx) => JobQueue.release(tx, job.id, ctx.owner));
    settle('released');
  });

  worker.post({
    type: MessageType.Start,
    job: {
      architecture: arch!.spec,
      dataset: { name: run.dataset, options: run.datasetOptions },
      hyperparameters: run.hyperparameters as never,
    },
    resumeFrom: resume?.bytes ?? null,
  });

  try {
    const result = await outcome;
    ended = true;
    await chain.catch(() => undefined);
    jobLog.info('training job ended', { outcome: result });
    return result;
  } finally {
    clearInterval(heartbeat);
    await worker.dispose();
  }
}

/** A stand-in for an engine thread that could not start: it reports `failed` once started. */
function failedWorker(error: string): EngineWorker {
  let listener: ((message: OutboundMessage) => void) | null = null;
  return {
    post(message) {
      if (message.type === MessageType.Start)
        queueMicrotask(() => listener?.({ type: MessageType.Failed, error, stack: null }));
    },
    onMessage(l) {
      listener = l;
      return () => (listener = null);
    },
    exited: Promise.resolve(1),
    dispose: async () => undefined,
  };
}
