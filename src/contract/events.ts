import type { EpochMetrics } from './protocol.js';
import type { FilterSummary } from './probe-events.js';
import type { RunStatus } from './status.js';

/**
 * What clients watch: the events of each topic and their payloads (plain JSON, stored in the
 * `events` table and replayed to subscriptions). `appendEvent` takes a topic and only that
 * topic's event types with their payloads; `EventBus.subscribe` yields them typed the same way.
 */

/** A `status` event of a run or a probe; which fields come depends on the status. */
export interface StatusPayload {
  readonly status: RunStatus;
  /** CANCELLING and CANCELLED: why. */
  readonly reason?: string;
  /** FAILED; QUEUED for a retry; CANCELLED when the engine failed while cancelling. */
  readonly error?: string;
  /** QUEUED again after a failure. */
  readonly retrying?: boolean;
  /** RUNNING, and QUEUED for a retry: the job's attempt (1-based). */
  readonly attempt?: number;
  /** CANCELLED (runs): epochs kept, i.e. the epoch of the last checkpoint. */
  readonly epoch?: number;
  /** CANCELLED by request while running: batches that finished after the cancel's commit. */
  readonly batchesAfterCancel?: number;
  /** RUNNING. */
  readonly backend?: string;
  readonly device?: string | null;
  /** RUNNING (runs): the epoch of the checkpoint resumed from, or null. */
  readonly resumedFromEpoch?: number | null;
  /** RUNNING (probes): examples used. */
  readonly trainExamples?: number;
  readonly testExamples?: number;
  /** SUCCEEDED (runs). */
  readonly finalTestSR?: number;
  /** SUCCEEDED (imported runs): what to check (an SR near chance). */
  readonly warnings?: readonly string[];
  readonly bestTestSR?: number;
  readonly bestEpoch?: number;
}

/** The fields a status event may carry besides the status. */
export type StatusDetails = Omit<StatusPayload, 'status'>;

/** `run:<id>`: everything that happens to one training run. */
export interface RunEvents {
  readonly status: StatusPayload;
  /** A training batch, at most one per second. */
  readonly step: {
    readonly epoch: number;
    readonly batch: number;
    readonly batches: number;
    readonly loss: number;
    /** Training images a second since the previous step of the same attempt (absent for its first). */
    readonly imagesPerSecond?: number;
  };
  /** An epoch's metrics, committed with its checkpoint. */
  readonly epoch: EpochMetrics;
  readonly checkpoint: { readonly epoch: number; readonly sizeBytes: number };
  /** An imported network's evaluation: test batches done, at most one event per second. */
  readonly evaluation: { readonly batch: number; readonly batches: number };
}

/** One filter's metrics as a `filters` event carries them (the raw matrix stays in its row). */
export type FilterMetricsPayload = Omit<FilterSummary, 'matrix'>;

/** `probe:<id>`: everything that happens to one probe. */
export interface ProbeEvents {
  readonly status: StatusPayload;
  readonly headEpoch: {
    readonly layer: string;
    readonly epoch: number;
    readonly trainLoss: number;
    readonly testSR: number;
    readonly learningRate: number;
  };
  readonly layerSR: { readonly layer: string; readonly successRate: number };
  readonly filters: {
    readonly layer: string;
    readonly indices: readonly number[];
    readonly filters: readonly FilterMetricsPayload[];
  };
  readonly layerDone: { readonly layer: string };
  /** The frozen pass over a split: examples done, at most once a second. */
  readonly features: {
    readonly split: 'train' | 'test';
    readonly done: number;
    readonly total: number;
    readonly imagesPerSecond: number;
  };
}

/** `runs`: every run's status changes (the dashboard's list). */
export interface RunsEvents {
  readonly status: StatusPayload & { readonly runId: number };
}

/** `jobs`: wakes idle runners when a job is queued or given back. */
export interface JobsEvents {
  readonly queued: {
    readonly jobId: number;
    readonly kind?: string;
    readonly runId?: number;
    readonly probeId?: number;
  };
  readonly released: { readonly jobId: number };
}

/** A topic name that knows its events (`E`: event type to payload). */
export type Topic<E> = string & { readonly __events?: E };

export const runTopic = (runId: number): Topic<RunEvents> => `run:${runId}`;
export const probeTopic = (probeId: number): Topic<ProbeEvents> => `probe:${probeId}`;
export const RUNS_TOPIC: Topic<RunsEvents> = 'runs';
export const JOBS_TOPIC: Topic<JobsEvents> = 'jobs';
/** Wakes the runner of one job when its cancel is committed (a NOTIFY only: no rows). */
export const jobTopic = (jobId: number): string => `job:${jobId}`;

/** One event of a topic with events `E`, its type and payload paired. */
export type EventOf<E> = {
  readonly [K in keyof E & string]: { readonly type: K; readonly payload: E[K] };
}[keyof E & string];

/** An event as stored and replayed: plain JSON (ISO time). */
export type StoredEvent<E> = EventOf<E> & {
  readonly topic: string;
  readonly sequence: number;
  readonly at: string;
};

/** Any payload of any topic: what the `events` table holds. */
export type AnyPayload =
  | RunEvents[keyof RunEvents]
  | ProbeEvents[keyof ProbeEvents]
  | RunsEvents[keyof RunsEvents]
  | JobsEvents[keyof JobsEvents];
