import type { EngineWorker } from '../engine/port.js';
import type { EventBus } from '../events/bus.js';
import { jobTopic, type StatusDetails } from '../contract/events.js';
import { MessageType, type InboundMessage, type OutboundMessage } from '../contract/protocol.js';
import type { Logger } from '../log.js';
import type { Db, Store } from '../store/db.js';
import type { JobRow, RunStatus } from '../store/schema/index.js';
import { JobQueue } from './queue.js';

export interface JobContext {
  readonly store: Store;
  readonly queue: JobQueue;
  readonly owner: string;
  readonly log: Logger;
  /** Starts the engine thread (engine/port.ts in production). */
  readonly startWorker: () => EngineWorker;
  /** Wakes the job at once when its cancel is committed (`JobQueue.cancel` NOTIFYs). */
  readonly bus: Pick<EventBus, 'watch'>;
  /** Heartbeat period, ms (well under the lease). */
  readonly heartbeatMs: number;
  /** Resolves when the runner is asked to stop (graceful shutdown): the job is given back. */
  readonly stopping: Promise<void>;
}

export type JobOutcome = 'succeeded' | 'failed' | 'retrying' | 'cancelled' | 'released' | 'lost';

/** What a job works on (its run or probe): how it is named in events and records a status. */
export interface JobSubject {
  /** Ids for the queue's events, e.g. `{ runId }`. */
  readonly ids: { readonly runId?: number; readonly probeId?: number };
  /** Sets the subject's status and row fields and appends its status event(s), in `tx`. */
  recordStatus(
    tx: Db,
    status: RunStatus,
    fields: { readonly error?: string; readonly finishedAt?: Date },
    payload: StatusDetails,
  ): Promise<void>;
}

/** Ends a job and its subject CANCELLED in `tx`; `payload` adds to the event (e.g. the epochs kept). */
export async function cancelIn(
  tx: Db,
  job: JobRow,
  subject: JobSubject,
  payload: StatusDetails = {},
  fields: { readonly error?: string } = {},
): Promise<void> {
  await JobQueue.finish(tx, job.id, 'cancelled');
  await subject.recordStatus(
    tx,
    'CANCELLED',
    { finishedAt: new Date(), ...fields },
    { reason: 'cancelled by request', ...payload },
  );
}

/** Ends a job and its subject CANCELLED; `payload` adds to the event (e.g. the epochs kept). */
export async function recordCancelled(
  store: Store,
  job: JobRow,
  subject: JobSubject,
  payload: StatusDetails = {},
): Promise<JobOutcome> {
  await store.db.transaction((tx) => cancelIn(tx, job, subject, payload));
  return 'cancelled';
}

/** Ends a job FAILED with `error`, and its subject with it unless the subject is gone (null). */
export async function recordFailed(
  store: Store,
  job: JobRow,
  subject: JobSubject | null,
  error: string,
): Promise<JobOutcome> {
  await store.db.transaction(async (tx) => {
    await JobQueue.finish(tx, job.id, 'failed', error);
    await subject?.recordStatus(tx, 'FAILED', { error, finishedAt: new Date() }, { error });
  });
  return 'failed';
}

/** The error of a job claimed more often than it may be (its runners kept dying), or null. */
export function attemptsExhausted(job: JobRow): string | null {
  return job.attempts > job.maxAttempts
    ? `gave up after ${job.maxAttempts} attempts; last error: ${job.lastError ?? 'runner lost (killed or stalled)'}`
    : null;
}

/**
 * An engine `failed` message, the same for every kind of job: queue the job again while it has
 * attempts left (and the failure is not permanent), else fail it and its subject.
 */
async function recordFailure(
  store: Store,
  job: JobRow,
  subject: JobSubject,
  message: Extract<OutboundMessage, { type: MessageType.Failed }>,
  log: Logger,
): Promise<JobOutcome> {
  log.warn('job failed', { error: message.error, permanent: message.permanent === true });
  const { error } = message;
  const retried = await store.db.transaction(async (tx) => {
    // A cancel was asked for: the failure ends the job, CANCELLED as asked, with the error kept.
    if (await JobQueue.cancelPending(tx, job.id)) {
      await cancelIn(tx, job, subject, { error }, { error });
      return 'cancelled' as const;
    }
    const retry = await JobQueue.retryOrFail(
      tx,
      job,
      error,
      subject.ids,
      message.permanent === true,
    );
    if (retry)
      await subject.recordStatus(
        tx,
        'QUEUED',
        { error },
        { error, retrying: true, attempt: job.attempts },
      );
    else await subject.recordStatus(tx, 'FAILED', { error, finishedAt: new Date() }, { error });
    return retry;
  });
  return retried === 'cancelled' ? 'cancelled' : retried ? 'retrying' : 'failed';
}

/**
 * Drives one engine thread for a claimed job: posts `start`, records each message in order
 * through `handle` (which returns an outcome on the terminal message; `failed` is recorded here
 * for every kind of job, on `subject`), renews the lease, forwards a requested cancel, gives the
 * job back on shutdown, and stops the thread when the lease is lost.
 */
export async function driveEngine(
  job: JobRow,
  ctx: JobContext,
  log: Logger,
  subject: JobSubject,
  start: InboundMessage,
  handle: (message: OutboundMessage) => Promise<JobOutcome | null>,
): Promise<JobOutcome> {
  const { store } = ctx;
  let worker: EngineWorker;
  try {
    worker = ctx.startWorker();
  } catch (error) {
    // No engine thread at all (e.g. a broken install): record it like an engine failure.
    worker = failedWorker(`could not start the engine thread: ${(error as Error).message}`);
  }
  let chain: Promise<unknown> = Promise.resolve();
  let cancelSent = false;
  let ended = false;
  let settle: (outcome: JobOutcome) => void = () => undefined;
  const outcome = new Promise<JobOutcome>((resolve) => (settle = resolve));

  worker.onMessage((message) => {
    chain = chain
      .then(async () => {
        const result =
          message.type === MessageType.Failed
            ? await recordFailure(store, job, subject, message, log)
            : await handle(message);
        if (result) settle(result);
      })
      .catch((error: unknown) => {
        log.error('could not record an engine message; the job will be retried', {
          error,
          type: message.type,
        });
        void worker.dispose();
        settle('lost');
      });
  });

  // Renews the lease and forwards a cancel: on every heartbeat, and at once when the cancel's
  // NOTIFY arrives (the engine then stops within the batch in progress, not a heartbeat later).
  const renew = (): void => {
    ctx.queue.heartbeat(job.id, ctx.owner).then(
      ({ held, cancelRequested, cancelAgeMs }) => {
        if (!held) {
          log.warn('lease lost; stopping the engine');
          void worker.dispose();
          settle('lost');
        } else if (cancelRequested && !cancelSent) {
          cancelSent = true;
          worker.post({
            type: MessageType.Cancel,
            ...(cancelAgeMs === null ? {} : { requestedAt: Date.now() - Math.max(0, cancelAgeMs) }),
          });
        }
      },
      (error: unknown) => log.warn('heartbeat failed', { error }),
    );
  };
  const heartbeat = setInterval(renew, ctx.heartbeatMs);
  const unwatch = ctx.bus.watch(jobTopic(job.id), renew);

  void ctx.stopping.then(async () => {
    if (ended) return;
    await worker.dispose();
    await chain.catch(() => undefined);
    await store.db.transaction((tx) => JobQueue.release(tx, job.id, ctx.owner));
    settle('released');
  });

  worker.post(start);
  try {
    const result = await outcome;
    ended = true;
    await chain.catch(() => undefined);
    log.info('job ended', { outcome: result });
    return result;
  } finally {
    clearInterval(heartbeat);
    unwatch();
    await worker.dispose();
  }
}

/** A stand-in for an engine thread that could not start: it reports `failed` once started. */
function failedWorker(error: string): EngineWorker {
  let listener: ((message: OutboundMessage) => void) | null = null;
  return {
    post(message) {
      if (message.type !== MessageType.Cancel) {
        queueMicrotask(() => listener?.({ type: MessageType.Failed, error, stack: null }));
      }
    },
    onMessage(l) {
      listener = l;
      return () => (listener = null);
    },
    exited: Promise.resolve(1),
    dispose: async () => undefined,
  };
}
