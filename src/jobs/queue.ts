import { and, count, eq, sql } from 'drizzle-orm';
import { appendEvent, notifyTopic } from '../events/bus.js';
import { JOBS_TOPIC, jobTopic } from '../contract/events.js';
import type { Db, Store } from '../store/db.js';
import { jobs, type JobKind, type JobRow } from '../store/schema/index.js';

/** What `enqueue` needs to queue a job. */
export interface NewJob {
  readonly kind: JobKind;
  readonly runId: number;
  /** For `probe` jobs. */
  readonly probeId?: number;
  readonly maxAttempts: number;
  /** The API key's name (default `anonymous`). */
  readonly requestedBy?: string;
}

/**
 * The jobs table as a queue: enqueue inside the caller's transaction, claim with
 * FOR UPDATE SKIP LOCKED (two runners never get the same job), keep a lease alive with
 * heartbeats, and reclaim jobs whose lease expired (their runner died).
 */
export class JobQueue {
  constructor(
    private readonly store: Store,
    /** How long a lease lasts without a heartbeat, ms. */
    readonly leaseMs: number,
  ) {}

  /** Jobs that `requestedBy` has queued and that have not started (per-key caps). */
  static async queuedBy(tx: Db, requestedBy: string): Promise<number> {
    const [queued] = await tx
      .select({ n: count() })
      .from(jobs)
      .where(and(eq(jobs.requestedBy, requestedBy), eq(jobs.status, 'queued')));
    return Number(queued?.n ?? 0);
  }

  /** Queues a job in the caller's transaction and wakes idle runners at commit. */
  static async enqueue(tx: Db, job: NewJob): Promise<JobRow> {
    const requestedBy = job.requestedBy ?? 'anonymous';
    const [row] = await tx
      .insert(jobs)
      .values({
        kind: job.kind,
        runId: job.runId,
        probeId: job.probeId ?? null,
        maxAttempts: job.maxAttempts,
        requestedBy,
      })
      .returning();
    await appendEvent(tx, JOBS_TOPIC, 'queued', {
      jobId: row!.id,
      kind: job.kind,
      runId: job.runId,
      ...(job.probeId !== undefined ? { probeId: job.probeId } : {}),
    });
    return row!;
  }

  /**
   * Claims the oldest queued job, or a running one whose lease expired, for `owner`; counts the
   * attempt. Null when there is nothing to do.
   */
  async claim(owner: string): Promise<JobRow | null> {
    const rows = await this.store.rows<Record<string, unknown>>(sql`
      update jobs set
        status = 'running',
        lease_owner = ${owner},
        lease_expires_at = now() + make_interval(secs => ${this.leaseMs / 1000}),
        attempts = attempts + 1,
        started_at = coalesce(started_at, now())
      where id = (
        select id from jobs
        where (status = 'queued' or (status = 'running' and lease_expires_at < now()))
        order by id
        for update skip locked
        limit 1
      )
      returning id`);
    const id = rows[0]?.id;
    if (id === undefined) return null;
    return this.findOne(Number(id));
  }

  async findOne(id: number): Promise<JobRow | null> {
    const [row] = await this.store.db.select().from(jobs).where(eq(jobs.id, id));
    return row ?? null;
  }

  /**
   * Renews the lease of a job `owner` still holds. Returns whether it still holds it and, when a
   * cancel was requested, how long ago it was committed (ms, on the database's clock, so that
   * the runner can place it on its own); a runner that lost its lease must stop at once.
   */
  async heartbeat(
    id: number,
    owner: string,
  ): Promise<{ held: boolean; cancelRequested: boolean; cancelAgeMs: number | null }> {
    const [row] = await this.store.db
      .update(jobs)
      .set({ leaseExpiresAt: sql`now() + make_interval(secs => ${this.leaseMs / 1000})` })
      .where(and(eq(jobs.id, id), eq(jobs.leaseOwner, owner), eq(jobs.status, 'running')))
      .returning({
        cancelRequested: jobs.cancelRequested,
        cancelAgeMs: sql<
          number | null
        >`(extract(epoch from clock_timestamp() - ${jobs.cancelRequestedAt}) * 1000)::float8`,
      });
    return {
      held: row !== undefined,
      cancelRequested: row?.cancelRequested ?? false,
      cancelAgeMs:
        row?.cancelAgeMs === null || row?.cancelAgeMs === undefined
          ? null
          : Number(row.cancelAgeMs),
    };
  }

  /** True when a cancel of job `id` has been committed (locks the job row until `tx` ends). */
  static async cancelPending(tx: Db, id: number): Promise<boolean> {
    const [row] = await tx
      .select({ cancelRequested: jobs.cancelRequested })
      .from(jobs)
      .where(eq(jobs.id, id))
      .for('update');
    return row?.cancelRequested ?? false;
  }

  /** Gives a job back to the queue (graceful shutdown); another runner resumes it. */
  static async release(tx: Db, id: number, owner: string): Promise<void> {
    await tx
      .update(jobs)
      .set({
        status: 'queued',
        leaseOwner: null,
        leaseExpiresAt: null,
        attempts: sql`greatest(${jobs.attempts} - 1, 0)`,
      })
      .where(and(eq(jobs.id, id), eq(jobs.leaseOwner, owner), eq(jobs.status, 'running')));
    await appendEvent(tx, JOBS_TOPIC, 'released', { jobId: id });
  }

  /** Ends a job (its subject's status is the caller's): no lease, a finish time, maybe an error. */
  static async finish(
    tx: Db,
    id: number,
    status: 'succeeded' | 'failed' | 'cancelled',
    lastError?: string,
  ): Promise<void> {
    await tx
      .update(jobs)
      .set({
        status,
        finishedAt: new Date(),
        leaseOwner: null,
        ...(lastError ? { lastError } : {}),
      })
      .where(eq(jobs.id, id));
  }

  /**
   * Cancels the job of a run (`kind` train) or probe. A queued job ends at once (`ended`); a
   * running one is flagged (`requested`; a second cancel keeps the first time) and its runner is
   * woken by a NOTIFY on `jobTopic(id)` at commit, so the engine stops within a batch; `none`
   * when the subject has no live job (it finished meanwhile).
   */
  static async cancel(
    tx: Db,
    subject:
      | { readonly kind: 'train'; readonly runId: number }
      | { readonly kind: 'probe'; readonly probeId: number },
  ): Promise<'ended' | 'requested' | 'none'> {
    const ofSubject =
      subject.kind === 'train'
        ? and(eq(jobs.kind, 'train'), eq(jobs.runId, subject.runId))
        : and(eq(jobs.kind, 'probe'), eq(jobs.probeId, subject.probeId));
    const queued = await tx
      .update(jobs)
      .set({
        status: 'cancelled',
        finishedAt: new Date(),
        cancelRequested: true,
        cancelRequestedAt: sql`coalesce(${jobs.cancelRequestedAt}, now())`,
      })
      .where(and(ofSubject, eq(jobs.status, 'queued')))
      .returning({ id: jobs.id });
    if (queued.length > 0) return 'ended';
    const running = await tx
      .update(jobs)
      .set({
        cancelRequested: true,
        cancelRequestedAt: sql`coalesce(${jobs.cancelRequestedAt}, now())`,
      })
      .where(and(ofSubject, eq(jobs.status, 'running')))
      .returning({ id: jobs.id });
    for (const { id } of running) await notifyTopic(tx, jobTopic(id));
    return running.length > 0 ? 'requested' : 'none';
  }

  /**
   * After an engine failure: requeues the job while it has attempts left (waking runners) and
   * returns true, or fails it for good and returns false.
   */
  static async retryOrFail(
    tx: Db,
    job: JobRow,
    error: string,
    subject: { readonly runId?: number; readonly probeId?: number },
    /** Another attempt would fail the same way: fail now. */
    permanent = false,
  ): Promise<boolean> {
    if (permanent || job.attempts >= job.maxAttempts) {
      await JobQueue.finish(tx, job.id, 'failed', error);
      return false;
    }
    await tx
      .update(jobs)
      .set({ status: 'queued', leaseOwner: null, leaseExpiresAt: null, lastError: error })
      .where(eq(jobs.id, job.id));
    await appendEvent(tx, JOBS_TOPIC, 'queued', { jobId: job.id, ...subject });
    return true;
  }
}
