import {
  TRAIN_DEFAULTS,
  type Augmentation,
  type TrainHyperparameters,
  type TrainHyperparametersInput,
} from './protocol.js';

/**
 * Phase-1 hyperparameter defaults, free of TensorFlow.js so that the API resolves and records
 * exactly what the engine will use.
 */

/** The augmentation METHOD.md prescribes by dataset: crop + flip for colour, none for grey. */
export function defaultAugmentation(inputShape: readonly [number, number, number]): Augmentation {
  return inputShape[2] === 3 ? 'cropFlip' : 'none';
}

/** Fills in METHOD.md's defaults; the result is what a run records as its hyperparameters. */
export function resolveHyperparameters(
  input: TrainHyperparametersInput | undefined,
  inputShape: readonly [number, number, number],
): TrainHyperparameters {
  const given = Object.fromEntries(
    Object.entries(input ?? {}).filter(([, v]) => v !== undefined && v !== null),
  ) as TrainHyperparametersInput;
  return {
    ...TRAIN_DEFAULTS,
    augmentation: defaultAugmentation(inputShape),
    ...given,
    // null means "all" for this field, so it survives the filter above as the default.
    maxTrainExamples: input?.maxTrainExamples ?? null,
    maxTestExamples: input?.maxTestExamples ?? null,
  };
}
