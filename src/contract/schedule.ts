/**
 * Learning-rate schedules of METHOD.md phase 1, stepped once per epoch. Pure functions of the
 * epoch index, so a resumed run gets the same rates as an uninterrupted one without storing any
 * scheduler state in the checkpoint.
 */

/** `cosine` (METHOD.md's default): lr_e = lr * (1 + cos(pi * e / E)) / 2. */
export interface CosineSchedule {
  readonly kind: 'cosine';
  /** Linear warm-up epochs before the decay; default 0. */
  readonly warmupEpochs?: number;
}

/** `step`: the rate is multiplied by `factor` at each milestone epoch (PyTorch's MultiStepLR). */
export interface StepSchedule {
  readonly kind: 'step';
  /** 0-based epochs at which the rate drops, strictly increasing, each in [1, epochs). */
  readonly milestones: readonly number[];
  /** Multiplier applied at each milestone, in (0, 1]; default 0.1. */
  readonly factor?: number;
  readonly warmupEpochs?: number;
}

export interface ConstantSchedule {
  readonly kind: 'constant';
  readonly warmupEpochs?: number;
}

export type ScheduleSpec = CosineSchedule | StepSchedule | ConstantSchedule;
export type ScheduleKind = ScheduleSpec['kind'];
export const SCHEDULE_KINDS: readonly ScheduleKind[] = ['cosine', 'step', 'constant'];

export const DEFAULT_STEP_FACTOR = 0.1;

/**
 * The learning rate of 0-based epoch `epoch` out of `epochs`.
 *
 * Warm-up (W = `warmupEpochs` > 0) ramps linearly, lr * (e + 1) / (W + 1) for e < W, so the
 * first epoch never runs at zero and the ramp ends one step below the base rate. After it,
 * `cosine` decays over the remaining E - W epochs (lr * (1 + cos(pi * (e - W) / (E - W))) / 2,
 * which is METHOD.md's formula when W = 0); `step` milestones stay absolute epochs.
 *
 * @param schedule the schedule, assumed valid (see `scheduleIssues`)
 * @param baseRate the peak learning rate (METHOD.md default 0.05)
 * @param epoch 0-based epoch index, 0 <= epoch < epochs
 * @param epochs total epochs E of the run
 */
export function learningRateAt(
  schedule: ScheduleSpec,
  baseRate: number,
  epoch: number,
  epochs: number,
): number {
  if (!Number.isInteger(epoch) || epoch < 0 || epoch >= epochs) {
    throw new RangeError(`epoch must be an integer in [0, ${epochs}), got ${epoch}`);
  }
  const warmup = schedule.warmupEpochs ?? 0;
  if (epoch < warmup) return (baseRate * (epoch + 1)) / (warmup + 1);
  switch (schedule.kind) {
    case 'cosine':
      return (baseRate * (1 + Math.cos((Math.PI * (epoch - warmup)) / (epochs - warmup)))) / 2;
    case 'step': {
      const passed = schedule.milestones.filter((m) => m <= epoch).length;
      return baseRate * Math.pow(schedule.factor ?? DEFAULT_STEP_FACTOR, passed);
    }
    case 'constant':
      return baseRate;
  }
}

/** One problem with a schedule: the field (relative to the schedule), what it got, why. */
export interface ScheduleIssue {
  readonly field: string;
  readonly value: unknown;
  readonly why: string;
}

/** Problems with a schedule for a run of `epochs` epochs; empty when it is valid. */
export function scheduleIssues(value: unknown, epochs: number): ScheduleIssue[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return [{ field: 'kind', value, why: 'the schedule must be an object with a kind' }];
  }
  const s = value as Record<string, unknown>;
  if (!SCHEDULE_KINDS.includes(s.kind as ScheduleKind)) {
    return [{ field: 'kind', value: s.kind, why: `must be one of ${SCHEDULE_KINDS.join(', ')}` }];
  }
  const kind = s.kind as ScheduleKind;
  const allowed: Record<ScheduleKind, readonly string[]> = {
    cosine: ['kind', 'warmupEpochs'],
    constant: ['kind', 'warmupEpochs'],
    step: ['kind', 'warmupEpochs', 'milestones', 'factor'],
  };
  const issues: ScheduleIssue[] = [];
  for (const [field, v] of Object.entries(s)) {
    if (v !== undefined && !allowed[kind].includes(field)) {
      issues.push({ field, value: v, why: `is not a field of a ${kind} schedule` });
    }
  }
  const warmup = s.warmupEpochs;
  if (
    warmup !== undefined &&
    (typeof warmup !== 'number' || !Number.isInteger(warmup) || warmup < 0 || warmup >= epochs)
  ) {
    issues.push({
      field: 'warmupEpochs',
      value: warmup,
      why: `must be an integer from 0 to ${epochs - 1} (below the ${epochs} epochs)`,
    });
  }
  if (kind === 'step') {
    const m = s.milestones;
    const ok =
      Array.isArray(m) &&
      m.every(
        (x, i) =>
          typeof x === 'number' &&
          Number.isInteger(x) &&
          x >= 1 &&
          x < epochs &&
          (i === 0 || x > (m[i - 1] as number)),
      );
    if (!ok) {
      issues.push({
        field: 'milestones',
        value: m,
        why: `must be strictly increasing integers from 1 to ${epochs - 1}`,
      });
    }
    const f = s.factor;
    if (f !== undefined && (typeof f !== 'number' || !(f > 0 && f <= 1))) {
      issues.push({ field: 'factor', value: f, why: 'must be a number in (0, 1]' });
    }
  }
  return issues;
}
