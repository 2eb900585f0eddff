import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { EngineWorker } from '../engine/port.js';
import type { EventBus } from '../events/bus.js';
import { JOBS_TOPIC } from '../contract/events.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/db.js';
import { JobQueue } from './queue.js';
import { runEvaluateJob } from './evaluate-job.js';
import { runProbeJob } from './probe-job.js';
import { runTrainingJob } from './training-job.js';

export interface RunnerOptions {
  /** Lease length without a heartbeat, ms (default 30 s). */
  readonly leaseMs?: number;
  /** Heartbeat period, ms (default leaseMs / 4). */
  readonly heartbeatMs?: number;
  /** Longest idle wait before looking for work again without a NOTIFY, ms (default 2 s). */
  readonly idlePollMs?: number;
  /** Starts one engine thread per job. */
  readonly startWorker: () => EngineWorker;
}

/**
 * One job runner: claims a job, runs it in an engine thread, records what it reports, and
 * repeats. Idle runners sleep until a NOTIFY on the jobs topic or `idlePollMs`.
 */
export class Runner {
  readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly queue: JobQueue;
  private stopRequested = false;
  private signalStop: () => void = () => undefined;
  private readonly stopping = new Promise<void>((resolve) => (this.signalStop = resolve));
  private loop: Promise<void> | null = null;
  /** Job id being run, or null when idle. */
  current: number | null = null;

  constructor(
    private readonly store: Store,
    private readonly bus: EventBus,
    private readonly log: Logger,
    private readonly options: RunnerOptions,
  ) {
    this.queue = new JobQueue(store, options.leaseMs ?? 30_000);
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops claiming; a job in progress is given back to the queue (resumed from its checkpoint). */
  async stop(): Promise<void> {
    this.stopRequested = true;
    this.signalStop();
    await this.loop;
  }

  private async run(): Promise<void> {
    const leaseMs = this.queue.leaseMs;
    while (!this.stopRequested) {
      let job;
      try {
        job = await this.queue.claim(this.owner);
      } catch (error) {
        this.log.warn('could not claim a job; retrying', { error });
        await this.idle(this.options.idlePollMs ?? 2000);
        continue;
      }
      if (!job) {
        await this.idle(Math.min(this.options.idlePollMs ?? 2000, leaseMs));
        continue;
      }
      this.current = job.id;
      try {
        const run = { train: runTrainingJob, probe: runProbeJob, evaluate: runEvaluateJob }[
          job.kind
        ];
        await run(job, {
          store: this.store,
          queue: this.queue,
          owner: this.owner,
          log: this.log,
          bus: this.bus,
          startWorker: this.options.startWorker,
          heartbeatMs: this.options.heartbeatMs ?? Math.max(250, Math.floor(leaseMs / 4)),
          stopping: this.stopping,
        });
      } catch (error) {
        // Nothing was settled (e.g. the database went away): the lease expires and another
        // runner, or this one, picks the job up again.
        this.log.error('training job crashed in the runner', { error, jobId: job.id });
      } finally {
        this.current = null;
      }
    }
  }

  private async idle(ms: number): Promise<void> {
    await Promise.race([this.bus.waitFor(JOBS_TOPIC, ms), this.stopping]);
  }
}
