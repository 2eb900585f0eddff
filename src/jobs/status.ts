import { eq } from 'drizzle-orm';
import { probeTopic, RUNS_TOPIC, runTopic, type StatusDetails } from '../contract/events.js';
import type { RunStatus } from '../contract/status.js';
import { appendEvent } from '../events/bus.js';
import type { Db } from '../store/db.js';
import { probes, trainingRuns } from '../store/schema/index.js';

/**
 * The one way a run's or a probe's status changes: the row, then its status event(s), in the
 * caller's transaction. Used by the API (start, cancel) and by the jobs (everything else).
 */

/** Sets a run's status and row fields; appends the run's own event and the all-runs event. */
export async function recordRunStatus(
  tx: Db,
  runId: number,
  status: RunStatus,
  fields: Partial<typeof trainingRuns.$inferInsert>,
  details: StatusDetails,
): Promise<void> {
  await tx
    .update(trainingRuns)
    .set({ status, ...fields })
    .where(eq(trainingRuns.id, runId));
  await appendEvent(tx, runTopic(runId), 'status', { status, ...details });
  await appendEvent(tx, RUNS_TOPIC, 'status', { runId, status, ...details });
}

/** Sets a probe's status and row fields and appends its `status` event. */
export async function recordProbeStatus(
  tx: Db,
  probeId: number,
  status: RunStatus,
  fields: Partial<typeof probes.$inferInsert>,
  details: StatusDetails = {},
): Promise<void> {
  await tx
    .update(probes)
    .set({ status, ...fields })
    .where(eq(probes.id, probeId));
  await appendEvent(tx, probeTopic(probeId), 'status', { status, ...details });
}
