import { join } from 'node:path';
import { CATALOG, PROCEDURAL_DEFAULTS, scanDatasets } from './catalog.js';
import type { CifarLabelKind } from './cifar.js';
import { CIFAR100_COARSE_LABELS, loadCifarSplit } from './cifar.js';
import { loadIdxSplit } from './idx.js';
import type { ProceduralOptions } from './procedural.js';
import { generateProcedural } from './procedural.js';
import type { LoadedDataset, Split } from './types.js';

/**
 * One entry point for every dataset of the catalog: the procedural one is generated, file
 * datasets are found under the data roots (`scanDatasets`) and read by their loader.
 */

export interface LoadOptions {
  /** Folders searched for dataset files, in order (see `dataRoots` in catalog.ts). */
  readonly roots: readonly string[];
  /** Keep only the first N training examples; default all. */
  readonly maxTrain?: number;
  /** Keep only the first N test examples; default all. */
  readonly maxTest?: number;
  /** Parameters of the `procedural` dataset (ignored for the others). */
  readonly procedural?: ProceduralOptions;
  /** CIFAR-100's labels: the 100 fine classes (default) or the 20 coarse superclasses. */
  readonly cifar100Labels?: CifarLabelKind;
}

/** The dataset asked for is not in the catalog, or its files are not under the data roots. */
export class DatasetUnavailableError extends Error {
  override readonly name = 'DatasetUnavailableError';

  constructor(
    readonly dataset: string,
    message: string,
    /** Required files not found (their first accepted name). */
    readonly missingFiles: readonly string[] = [],
    /** Every folder that was searched. */
    readonly searched: readonly string[] = [],
  ) {
    super(message);
  }
}

/**
 * Loads dataset `name` of the catalog (`procedural`, `fashion-mnist`, `mnist`, `cifar-10`,
 * `cifar-100`): images as bytes [count, height, width, channels], channels last. With
 * `maxTrain` / `maxTest`, the first N examples of each split are kept (the whole files are
 * still read and checked). Throws a {@link DatasetUnavailableError} naming the missing files and
 * the folders searched when the files are not found, and a `DatasetFileError` when a file is
 * corrupt.
 */
export function loadDataset(name: string, options: LoadOptions): LoadedDataset {
  const entry = CATALOG.find((e) => e.name === name);
  if (!entry) {
    throw new DatasetUnavailableError(
      name,
      `unknown dataset "${name}"; known: ${CATALOG.map((e) => e.name).join(', ')}`,
    );
  }
  const maxTrain = checkCap('maxTrain', options.maxTrain);
  const maxTest = checkCap('maxTest', options.maxTest);
  let dataset: LoadedDataset;
  if (entry.source === 'procedural') {
    // Example i depends only on (seed, split, i): generating fewer is the same as capping.
    const procedural = options.procedural ?? {};
    const trainSize = procedural.trainSize ?? PROCEDURAL_DEFAULTS.trainSize;
    const testSize = procedural.testSize ?? PROCEDURAL_DEFAULTS.testSize;
    return generateProcedural({
      ...procedural,
      trainSize: maxTrain === undefined ? trainSize : Math.min(maxTrain, trainSize),
      testSize: maxTest === undefined ? testSize : Math.min(maxTest, testSize),
    });
  }
  const found = scanDatasets(options.roots).find((e) => e.name === name);
  if (!found?.available) {
    const searched = options.roots.flatMap((root) => entry.folders.map((f) => join(root, f)));
    const missing = found?.missingFiles ?? entry.files.map((names) => names[0] ?? '');
    throw new DatasetUnavailableError(
      name,
      `dataset ${name} is not available: missing ${missing.join(', ')}; searched ${
        searched.length > 0 ? searched.join(', ') : '(no data folders configured)'
      }`,
      missing,
      searched,
    );
  }
  const files = found.foundFiles;
  const [height, width] = entry.inputShape;
  if (entry.source === 'idx') {
    const [trainImages = '', trainLabels = '', testImages = '', testLabels = ''] = files;
    const labels = entry.labelNames.length;
    dataset = {
      name,
      inputShape: entry.inputShape,
      labelNames: entry.labelNames,
      train: loadIdxSplit(trainImages, trainLabels, labels, [height, width]),
      test: loadIdxSplit(testImages, testLabels, labels, [height, width]),
    };
  } else {
    const variant = name === 'cifar-10' ? 'cifar-10' : 'cifar-100';
    const kind = options.cifar100Labels ?? 'fine';
    const cifar = { variant, labels: kind } as const;
    dataset = {
      name,
      inputShape: entry.inputShape,
      labelNames:
        variant === 'cifar-100' && kind === 'coarse' ? CIFAR100_COARSE_LABELS : entry.labelNames,
      train: loadCifarSplit(files.slice(0, -1), cifar),
      test: loadCifarSplit(files.slice(-1), cifar),
    };
  }
  return {
    ...dataset,
    train: firstN(dataset.train, maxTrain),
    test: firstN(dataset.test, maxTest),
  };
}

function checkCap(field: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`${field} must be a non-negative integer, got ${value}`);
  }
  return value;
}

/** The first `n` examples of a split (copies, so the full split can be freed). */
function firstN(split: Split, n: number | undefined): Split {
  if (n === undefined || n >= split.count) return split;
  const stride = split.count === 0 ? 0 : split.images.length / split.count;
  return {
    images: split.images.slice(0, n * stride),
    labels: split.labels.slice(0, n),
    count: n,
  };
}
