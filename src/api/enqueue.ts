import { JobQueue, type NewJob } from '../jobs/queue.js';
import type { Db } from '../store/db.js';
import type { JobRow } from '../store/schema/index.js';
import { rateLimited } from './errors.js';

/**
 * Queues a launch's job in the caller's transaction, refusing (RATE_LIMITED) when its key
 * already has `maxQueued` jobs waiting. Concurrent launches by one key may overshoot by the
 * number in flight (the count and the insert are not one statement).
 */
export async function enqueueLaunch(tx: Db, job: NewJob, maxQueued: number): Promise<JobRow> {
  const requestedBy = job.requestedBy ?? 'anonymous';
  const queued = await JobQueue.queuedBy(tx, requestedBy);
  if (queued >= maxQueued)
    throw rateLimited(
      `${requestedBy} already has ${queued} queued jobs (the limit per key is ${maxQueued}): wait for some to start or cancel them`,
      { limit: maxQueued, queued },
    );
  return JobQueue.enqueue(tx, job);
}
