import { eq } from 'drizzle-orm';
import { runTopic } from '../contract/events.js';
import { MessageType, type InboundMessage, type OutboundMessage } from '../contract/protocol.js';
import { appendEvent } from '../events/bus.js';
import { architectures, trainingRuns, type JobRow } from '../store/schema/index.js';
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
import { recordRunStatus } from './status.js';

/**
 * The check on arrival of an imported network: its test SR on the run's dataset, measured in an
 * engine thread. The run ends SUCCEEDED with that SR (and a warning when it is near chance), so
 * that it can be probed and exported like a trained run.
 */
export async function runEvaluateJob(job: JobRow, ctx: JobContext): Promise<JobOutcome> {
  const { store } = ctx;
  const runId = job.runId!;
  const [run] = await store.db.select().from(trainingRuns).where(eq(trainingRuns.id, runId));
  const subject: JobSubject = {
    ids: { runId },
    recordStatus: (tx, status, fields, details) =>
      recordRunStatus(tx, runId, status, fields, details),
  };
  if (!run) return recordFailed(store, job, null, `run ${runId} no longer exists`);
  if (job.cancelRequested) return recordCancelled(store, job, subject, { epoch: 0 });
  const exhausted = attemptsExhausted(job);
  if (exhausted) return recordFailed(store, job, subject, exhausted);
  const [arch] = await store.db
    .select()
    .from(architectures)
    .where(eq(architectures.id, run.architectureId));
  const checkpoint = await loadLatestCheckpoint(store, runId);
  if (!arch || !checkpoint)
    return recordFailed(store, job, subject, `run ${runId} has no imported network to evaluate`);
  const log = ctx.log.child({ jobId: job.id, runId, attempt: job.attempts });
  log.info('evaluation starting');

  const handle = async (message: OutboundMessage): Promise<JobOutcome | null> => {
    switch (message.type) {
      case MessageType.Started:
        await store.db.transaction(async (tx) => {
          const fields = {
            backend: message.backend,
            device: message.device,
            threads: message.threads,
            testExamples: message.testExamples,
            startedAt: run.startedAt ?? new Date(),
            error: null,
          };
          if (await JobQueue.cancelPending(tx, job.id))
            await tx.update(trainingRuns).set(fields).where(eq(trainingRuns.id, runId));
          else
            await recordRunStatus(tx, runId, 'RUNNING', fields, {
              backend: message.backend,
              device: message.device,
              attempt: job.attempts,
            });
        });
        return null;
      case MessageType.EvaluationStep:
        await store.db.transaction((tx) =>
          appendEvent(tx, runTopic(runId), 'evaluation', {
            batch: message.batch,
            batches: message.batches,
          }),
        );
        return null;
      case MessageType.Evaluated:
        return store.db.transaction(async (tx): Promise<JobOutcome> => {
          if (await JobQueue.cancelPending(tx, job.id)) {
            await cancelIn(tx, job, subject, { epoch: 0 });
            return 'cancelled';
          }
          const warnings = nearChance(message.testSR, arch.labels, message.examples);
          await JobQueue.finish(tx, job.id, 'succeeded');
          await recordRunStatus(
            tx,
            runId,
            'SUCCEEDED',
            {
              finalTestSR: message.testSR,
              bestTestSR: message.testSR,
              testExamples: message.examples,
              warnings,
              finishedAt: new Date(),
            },
            { finalTestSR: message.testSR, bestTestSR: message.testSR, warnings },
          );
          return 'succeeded';
        });
      case MessageType.Cancelled:
        return recordCancelled(store, job, subject, { epoch: 0 });
      default:
        return null;
    }
  };
  const start: InboundMessage = {
    type: MessageType.Evaluate,
    job: {
      architecture: arch.spec,
      dataset: { name: run.dataset, options: run.datasetOptions },
      maxTestExamples: run.imported?.maxTestExamples ?? null,
    },
    checkpoint: checkpoint.bytes,
  };
  return driveEngine(job, ctx, log, subject, start, handle);
}

/**
 * A warning when a test SR is near chance (within three standard errors of 1/C, or under 1.5/C):
 * an imported network that scores so reads its input differently than it was trained to, and
 * the usual causes are named.
 */
export function nearChance(testSR: number, labels: number, examples: number): string[] {
  const chance = 1 / labels;
  const spread = 3 * Math.sqrt((chance * (1 - chance)) / examples);
  if (testSR > Math.max(chance + spread, 1.5 * chance)) return [];
  return [
    `test SR ${testSR.toFixed(3)} on ${labels} labels is near chance (${chance.toFixed(3)}): the network likely reads its input differently than it was trained to. Check the pixel scale, mean and std (input.pixelScale, input.mean, input.std), the channel order (input.channelOrder: rgb or bgr) and the label order (labelMapping).`,
  ];
}
