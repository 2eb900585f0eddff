/**
 * The life of a run or a probe. CANCELLING: a cancel was committed while its job ran; it becomes
 * CANCELLED within a batch. SUCCEEDED, FAILED and CANCELLED are final: nothing changes after them.
 */
export const RUN_STATUSES = [
  'QUEUED',
  'RUNNING',
  'CANCELLING',
  'SUCCEEDED',
  'FAILED',
  'CANCELLED',
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const FINAL_STATUSES: readonly RunStatus[] = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

export const isFinal = (status: RunStatus): boolean => FINAL_STATUSES.includes(status);
