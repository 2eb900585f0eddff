import { JobQueue } from '../jobs/queue.js';
import type { Db, Store } from '../store/db.js';
import type { RunStatus } from '../store/schema/index.js';
import { conflict, notFound } from './errors.js';

/** Statuses after which nothing changes. */
export const FINAL_STATUSES: readonly RunStatus[] = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

/** A run or a probe, as `cancelSubject` sees it. */
export interface CancelTarget<T extends { readonly status: RunStatus }> {
  /** `run` or `probe`, for messages. */
  readonly noun: string;
  /** The GraphQL type, for NOT_FOUND. */
  readonly typeName: string;
  /** The global id the client sent. */
  readonly id: string;
  readonly job: Parameters<typeof JobQueue.cancel>[1];
  find(): Promise<T | null>;
  /** The subject's status, its row locked until `tx` ends (a cancel and a finish serialise). */
  lockedStatus(tx: Db): Promise<RunStatus | undefined>;
  /** Sets the subject's status and appends its status event(s), in `tx`. */
  record(
    tx: Db,
    status: RunStatus,
    fields: { readonly finishedAt?: Date },
    payload: Record<string, unknown>,
  ): Promise<void>;
  /** Added to the CANCELLED event of a subject cancelled while queued. */
  readonly queuedPayload?: (subject: T) => Record<string, unknown>;
}

/**
 * The one cancel of runs and probes. A queued subject ends CANCELLED at once; a running one
 * becomes CANCELLING (its runner is woken at commit and its engine stops at the end of the batch
 * in progress); cancelling a CANCELLING one answers it again. A finished one is a CONFLICT, also
 * when it finished between the first read and the cancel (then nothing changed).
 */
export async function cancelSubject<T extends { readonly status: RunStatus }>(
  store: Store,
  target: CancelTarget<T>,
): Promise<T> {
  const finished = (status: RunStatus) =>
    conflict(`${target.noun} ${target.id} is already ${status} and cannot be cancelled`, {
      id: target.id,
      status,
    });
  const before = await target.find();
  if (!before) throw notFound(target.typeName, target.id);
  if (FINAL_STATUSES.includes(before.status)) throw finished(before.status);
  const outcome = await store.db.transaction(async (tx) => {
    const result = await JobQueue.cancel(tx, target.job);
    if (result === 'ended')
      await target.record(
        tx,
        'CANCELLED',
        { finishedAt: new Date() },
        { reason: 'cancelled while queued', ...target.queuedPayload?.(before) },
      );
    else if (result === 'requested' && (await target.lockedStatus(tx)) !== 'CANCELLING')
      await target.record(tx, 'CANCELLING', {}, { reason: 'cancel requested' });
    return result;
  });
  const after = (await target.find())!;
  if (outcome === 'none' && FINAL_STATUSES.includes(after.status)) throw finished(after.status);
  return after;
}
