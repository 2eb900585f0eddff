import { and, eq, gt, sql } from 'drizzle-orm';
import {
  MessageType,
  type CheckpointMessage,
  type EpochMetrics,
  type FinishedMessage,
  type InboundMessage,
  type OutboundMessage,
  type StartedMessage,
  type StepMessage,
} from '../contract/protocol.js';
import { appendEvent } from '../events/bus.js';
import { runTopic } from '../contract/events.js';
import type { Store } from '../store/db.js';
import {
  architectures,
  runMetrics,
  runSteps,
  trainingRuns,
  type JobRow,
  type TrainingRunRow,
} from '../store/schema/index.js';
import {
  completeCheckpoint,
  dropIncompleteCheckpoints,
  loadLatestCheckpoint,
  writeCheckpointChunks,
} from './checkpoint-store.js';
import { JobQueue } from './queue.js';
import { recordRunStatus } from './status.js';
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
    recordStatus: (tx, status, fields, details) =>
      recordRunStatus(tx, runId, status, fields, details),
  };
  if (!run) return recordFailed(store, job, null, `run ${runId} no longer exists`);
  if (job.cancelRequested) return recordCancelled(store, job, subject, { epoch: run.epochsDone });
  const exhausted = attemptsExhausted(job);
  if (exhausted) return recordFailed(store, job, subject, exhausted);
  const [arch] = await store.db
    .select()
    .from(architectures)
    .where(eq(architectures.id, run.architectureId));
  if (!arch) return recordFailed(store, job, subject, `run ${runId} has no architecture`);
  if (!run.hyperparameters)
    return recordFailed(
      store,
      job,
      subject,
      `run ${runId} was imported: there is nothing to train`,
    );
  await dropIncompleteCheckpoints(store, runId);
  const resume = await loadLatestCheckpoint(store, runId);
  const jobLog = log.child({ jobId: job.id, runId, attempt: job.attempts });
  jobLog.info('training job starting', { resumeFromEpoch: resume?.epoch ?? null });

  const recorder = new TrainingRecorder(store, job, run, subject);
  const start: InboundMessage = {
    type: MessageType.Start,
    job: {
      architecture: arch.spec,
      dataset: { name: run.dataset, options: run.datasetOptions },
      hyperparameters: run.hyperparameters,
    },
    resumeFrom: resume?.bytes ?? null,
  };
  return driveEngine(job, ctx, jobLog, subject, start, (message) => recorder.record(message));
}

/** Turns one training job's engine messages into rows and events, each in its transaction. */
class TrainingRecorder {
  /** Epoch metrics waiting for their checkpoint (they are committed together). */
  private readonly pending = new Map<number, EpochMetrics>();
  private readonly runId: number;
  /** Training examples per epoch (from `started`), and the last step's time and images trained. */
  private trainExamples = 0;
  private lastStep: { readonly at: number; readonly images: number } | null = null;

  constructor(
    private readonly store: Store,
    private readonly job: JobRow,
    private readonly run: TrainingRunRow,
    private readonly subject: JobSubject,
  ) {
    this.runId = run.id;
  }

  /** Records `message`; the job's outcome once it is terminal, else null. */
  async record(message: OutboundMessage): Promise<JobOutcome | null> {
    switch (message.type) {
      case MessageType.Started:
        await this.started(message);
        return null;
      case MessageType.Step:
        await this.step(message);
        return null;
      case MessageType.Epoch:
        this.pending.set(message.epoch, message.metrics);
        return null;
      case MessageType.Checkpoint:
        await this.checkpoint(message);
        return null;
      case MessageType.Finished:
        return this.finished(message);
      case MessageType.Cancelled:
        return recordCancelled(this.store, this.job, this.subject, {
          epoch: message.epoch,
          ...(message.batchesAfterCancel === undefined
            ? {}
            : { batchesAfterCancel: message.batchesAfterCancel }),
        });
      default:
        return null;
    }
  }

  /** Stores the step (its number counted from the run's start) with its event. */
  private async step(message: StepMessage): Promise<void> {
    const step = (message.epoch - 1) * message.batches + message.batch;
    const images = imagesTrained(message, this.trainExamples);
    const now = performance.now();
    const last = this.lastStep;
    const imagesPerSecond =
      last && now > last.at && images > last.images
        ? ((images - last.images) * 1000) / (now - last.at)
        : null;
    this.lastStep = { at: now, images };
    const row = {
      runId: this.runId,
      step,
      epoch: message.epoch,
      batch: message.batch,
      loss: message.loss,
      imagesPerSecond,
    };
    await this.store.db.transaction(async (tx) => {
      await tx
        .insert(runSteps)
        .values(row)
        .onConflictDoUpdate({
          target: [runSteps.runId, runSteps.step],
          set: { loss: row.loss, imagesPerSecond, recordedAt: new Date() },
        });
      await appendEvent(tx, runTopic(this.runId), 'step', {
        epoch: message.epoch,
        batch: message.batch,
        batches: message.batches,
        loss: message.loss,
        ...(imagesPerSecond === null ? {} : { imagesPerSecond }),
      });
    });
  }

  private async started(message: StartedMessage): Promise<void> {
    this.trainExamples = message.trainExamples;
    // Steps after the checkpoint resumed from are trained again: the old ones go.
    await this.store.db
      .delete(runSteps)
      .where(
        and(eq(runSteps.runId, this.runId), gt(runSteps.epoch, message.resumedFromEpoch ?? 0)),
      );
    const fields = {
      backend: message.backend,
      device: message.device,
      threads: message.threads,
      trainExamples: message.trainExamples,
      testExamples: message.testExamples,
      startedAt: this.run.startedAt ?? new Date(),
      error: null,
    };
    await this.store.db.transaction(async (tx) => {
      // A cancel committed since the claim: the run stays CANCELLING (the engine is told).
      if (await JobQueue.cancelPending(tx, this.job.id))
        await tx.update(trainingRuns).set(fields).where(eq(trainingRuns.id, this.runId));
      else
        await recordRunStatus(tx, this.runId, 'RUNNING', fields, {
          backend: message.backend,
          device: message.device,
          attempt: this.job.attempts,
          resumedFromEpoch: message.resumedFromEpoch,
        });
    });
  }

  private async checkpoint(message: CheckpointMessage): Promise<void> {
    const { runId } = this;
    const metrics = this.pending.get(message.epoch);
    this.pending.delete(message.epoch);
    const checkpointId = await writeCheckpointChunks(
      this.store,
      runId,
      message.epoch,
      message.bytes,
    );
    await this.store.db.transaction(async (tx) => {
      await completeCheckpoint(tx, runId, checkpointId, this.run.keepCheckpoints);
      if (metrics) {
        await tx
          .insert(runMetrics)
          .values({ runId, ...metrics })
          .onConflictDoNothing();
        await appendEvent(tx, runTopic(runId), 'epoch', metrics);
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
  }

  private finished(message: FinishedMessage): Promise<JobOutcome> {
    return this.store.db.transaction(async (tx): Promise<JobOutcome> => {
      // A cancel committed before this point wins: cancelRun answered CANCELLING, and a cancel
      // that was answered must never end SUCCEEDED. Every epoch is kept.
      if (await JobQueue.cancelPending(tx, this.job.id)) {
        await cancelIn(tx, this.job, this.subject, { epoch: message.epochs });
        return 'cancelled';
      }
      await JobQueue.finish(tx, this.job.id, 'succeeded');
      await recordRunStatus(
        tx,
        this.runId,
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
  }
}

/** Training images done when `message`'s batch ended (its epoch's earlier ones included). */
function imagesTrained(message: StepMessage, trainExamples: number): number {
  const perBatch = trainExamples / message.batches;
  return (message.epoch - 1) * trainExamples + Math.min(trainExamples, message.batch * perBatch);
}
