import {
  boolean,
  ContractIssue,
  integer,
  isObject,
  join,
  nullable,
  number,
  object,
  oneOf,
  type Check,
} from './checks.js';
import { scheduleIssues, type ScheduleSpec } from './schedule.js';

/**
 * Phase-1 hyperparameters: their types, METHOD.md's defaults, the one set of ranges, and the one
 * resolution (defaults filled in) that the API performs when a run is started. The run stores
 * the result; the runner sends it to the engine as it is.
 */

/**
 * `cropFlip`: random crop after zero padding (4 pixels at 32 x 32, side / 8 for other sizes; see
 * `cropFlipFor` in engine/train.ts) + random horizontal flip; `none`.
 */
export type Augmentation = 'cropFlip' | 'none';
export const AUGMENTATIONS: readonly Augmentation[] = ['cropFlip', 'none'];

/** Phase-1 hyperparameters, resolved (every default filled in). */
export interface TrainHyperparameters {
  /** Epochs E, 1-10000; default 30. */
  readonly epochs: number;
  /** 1-8192; default 128. */
  readonly batchSize: number;
  /** Peak learning rate in (0, 10]; default 0.05. */
  readonly learningRate: number;
  /** In [0, 1); default 0.9. */
  readonly momentum: number;
  /** Default false; needs a momentum above 0. */
  readonly nesterov: boolean;
  /** lambda of lambda * w added to every gradient, in [0, 1]; default 5e-4. */
  readonly weightDecay: number;
  /** Default `{ kind: 'cosine' }`. */
  readonly schedule: ScheduleSpec;
  /** Default by dataset: `cropFlip` for colour images, `none` for grey ones. */
  readonly augmentation: Augmentation;
  /** Seeds initialisation, shuffling, augmentation and dropout; unsigned 32-bit; default 1. */
  readonly seed: number;
  /** Train on the first N training examples only; null (default) = all. */
  readonly maxTrainExamples: number | null;
  /** Measure test SR on the first N test examples only; null (default) = all. */
  readonly maxTestExamples: number | null;
}

/** Hyperparameters as a client sends them: any field may be left out for its default. */
export type TrainHyperparametersInput = {
  readonly [K in keyof TrainHyperparameters]?: TrainHyperparameters[K] | null;
};

/** Defaults of METHOD.md phase 1, except `augmentation`, which depends on the dataset. */
export const TRAIN_DEFAULTS: Omit<TrainHyperparameters, 'augmentation'> = {
  epochs: 30,
  batchSize: 128,
  learningRate: 0.05,
  momentum: 0.9,
  nesterov: false,
  weightDecay: 5e-4,
  schedule: { kind: 'cosine' },
  seed: 1,
  maxTrainExamples: null,
  maxTestExamples: null,
};

/** The range of every field (the schedule is checked against `epochs` separately). */
const FIELDS: Record<keyof TrainHyperparameters, Check> = {
  epochs: integer(1, 10_000),
  batchSize: integer(1, 8192),
  learningRate: number(0, 10, { above: true }),
  momentum: number(0, 1, { below: true }),
  nesterov: boolean,
  weightDecay: number(0, 1),
  schedule: () => undefined,
  augmentation: oneOf(AUGMENTATIONS),
  seed: integer(0, 0xffffffff),
  maxTrainExamples: nullable(integer(1)),
  maxTestExamples: nullable(integer(1)),
};

/** Rules that involve two fields: the schedule against the epochs, Nesterov's momentum. */
function checkTogether(h: Record<string, unknown>, path: string): void {
  const epochs = typeof h.epochs === 'number' ? h.epochs : TRAIN_DEFAULTS.epochs;
  if (h.schedule !== undefined) {
    const [first] = scheduleIssues(h.schedule, epochs);
    if (first)
      throw new ContractIssue(join(join(path, 'schedule'), first.field), first.value, first.why);
  }
  if (h.nesterov === true && h.momentum === 0)
    throw new ContractIssue(join(path, 'nesterov'), true, 'needs a momentum above 0');
}

/**
 * Checks resolved hyperparameters (a stored run's, or a `start` message's). Checkpoints written
 * before `maxTestExamples` existed lack it.
 */
export function checkHyperparameters(
  value: unknown,
  path: string,
): asserts value is TrainHyperparameters {
  object(FIELDS, ['maxTestExamples'])(value, path);
  checkTogether(value as Record<string, unknown>, path);
}

/** The augmentation METHOD.md prescribes by dataset: crop + flip for colour, none for grey. */
export function defaultAugmentation(inputShape: readonly [number, number, number]): Augmentation {
  return inputShape[2] === 3 ? 'cropFlip' : 'none';
}

/** What resolving needs to know of the dataset. */
export interface HyperparameterContext {
  readonly inputShape: readonly [number, number, number];
  /** Caps `maxTrainExamples` / `maxTestExamples` when given. */
  readonly trainSize?: number;
  readonly testSize?: number;
}

/**
 * Checks what a client sent and fills in METHOD.md's defaults: the hyperparameters a run records.
 * Absent and null fields take their default (null means "all" for the example caps). Throws
 * `ContractIssue` with the field's path (`epochs`, `schedule.milestones`, ...).
 */
export function resolveHyperparameters(
  input: TrainHyperparametersInput | unknown,
  context: HyperparameterContext,
): TrainHyperparameters {
  const given: Record<string, unknown> = {};
  if (input !== null && input !== undefined) {
    if (!isObject(input)) throw new ContractIssue('', input, 'must be an object');
    for (const [key, value] of Object.entries(input))
      if (value !== undefined && value !== null) given[key] = value;
  }
  // A schedule's unset fields may come as nulls too (GraphQL input objects).
  if (isObject(given.schedule))
    given.schedule = Object.fromEntries(
      Object.entries(given.schedule).filter(([, v]) => v !== undefined && v !== null),
    );
  object(FIELDS, Object.keys(FIELDS))(given, '');
  const caps = { maxTrainExamples: context.trainSize, maxTestExamples: context.testSize };
  for (const [key, cap] of Object.entries(caps))
    if (cap !== undefined && given[key] !== undefined)
      integer(1, Math.max(1, cap))(given[key], key);
  checkTogether(given, '');
  return {
    ...TRAIN_DEFAULTS,
    augmentation: defaultAugmentation(context.inputShape),
    ...(given as Partial<TrainHyperparameters>),
  };
}
