import { boolean, index, integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { trainingRuns } from './runs.sql.js';

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
/** `evaluate`: measures an imported network's test SR (its run's only job). */
export type JobKind = 'train' | 'probe' | 'evaluate';

/**
 * The queue. Runners claim with FOR UPDATE SKIP LOCKED and hold a lease renewed by heartbeats;
 * a running job whose lease expired is claimed again and resumes from its last checkpoint.
 */
export const jobs = pgTable(
  'jobs',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    kind: text('kind').$type<JobKind>().notNull(),
    runId: integer('run_id').references(() => trainingRuns.id, { onDelete: 'cascade' }),
    /** For `probe` jobs: the probe (its run is `runId`). */
    probeId: integer('probe_id'),
    status: text('status').$type<JobStatus>().notNull().default('queued'),
    attempts: integer('attempts').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull().default(3),
    leaseOwner: text('lease_owner'),
    leaseExpiresAt: timestamp('lease_expires_at', { withTimezone: true }),
    cancelRequested: boolean('cancel_requested').notNull().default(false),
    /** When the first cancel was committed: the engine counts the batches finished after it. */
    cancelRequestedAt: timestamp('cancel_requested_at', { withTimezone: true }),
    lastError: text('last_error'),
    /** The API key's name that queued it (`anonymous` without keys): per-key queue caps. */
    requestedBy: text('requested_by').notNull().default('anonymous'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [
    index('jobs_claimable').on(t.status, t.id),
    index('jobs_run').on(t.runId),
    index('jobs_requester').on(t.requestedBy, t.status),
  ],
);

export type JobRow = typeof jobs.$inferSelect;
