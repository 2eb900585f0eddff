/** Event topics: one per thing a client can watch. */
export const NOTIFY_CHANNEL = 'filterscope_events';

/** Every event of one training run. */
export const runTopic = (runId: number): string => `run:${runId}`;
/** Every event of one probe (phases 2 and 3 on a finished run). */
export const probeTopic = (probeId: number): string => `probe:${probeId}`;
/** Status changes of every run. */
export const RUNS_TOPIC = 'runs';
/** Wakes idle runners when a job is queued or released. */
export const JOBS_TOPIC = 'jobs';
/** Wakes the runner of one job when its cancel is committed (a NOTIFY only: no rows). */
export const jobTopic = (jobId: number): string => `job:${jobId}`;
