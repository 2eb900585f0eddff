import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What this server can train on: the built-in procedural dataset and the file datasets found
 * under the data folders. Only file presence is checked here; reading and validating the files
 * is the loaders' job.
 */

export type DatasetSource = 'procedural' | 'idx' | 'cifar';

export interface DatasetEntry {
  readonly name: string;
  readonly title: string;
  readonly source: DatasetSource;
  readonly inputShape: readonly [number, number, number];
  readonly labelNames: readonly string[];
  readonly trainSize: number;
  readonly testSize: number;
  /** Folder names searched under each data root. */
  readonly folders: readonly string[];
  /** Files required, each with accepted alternative names (e.g. gzipped or not). */
  readonly files: readonly (readonly string[])[];
}

export interface DatasetAvailability extends DatasetEntry {
  readonly available: boolean;
  /** The folder where every required file was found, or null. */
  readonly location: string | null;
  /** Absolute paths of the files found (one per required file) when available. */
  readonly foundFiles: readonly string[];
  /** Required files not found, by their first accepted name, when not available. */
  readonly missingFiles: readonly string[];
}

const idx = (stem: string): string[] => [stem, `${stem}.gz`];
const IDX_FILES = [
  idx('train-images-idx3-ubyte'),
  idx('train-labels-idx1-ubyte'),
  idx('t10k-images-idx3-ubyte'),
  idx('t10k-labels-idx1-ubyte'),
];

const CIFAR10_LABELS = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
];
const CIFAR100_LABELS = (
  'apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly camel can castle ' +
  'caterpillar cattle chair chimpanzee clock cloud cockroach couch crab crocodile cup dinosaur dolphin elephant flatfish ' +
  'forest fox girl hamster house kangaroo keyboard lamp lawn_mower leopard lion lizard lobster man maple_tree motorcycle ' +
  'mountain mouse mushroom oak_tree orange orchid otter palm_tree pear pickup_truck pine_tree plain plate poppy porcupine ' +
  'possum rabbit raccoon ray road rocket rose sea seal shark shrew skunk skyscraper snail snake spider squirrel streetcar ' +
  'sunflower sweet_pepper table tank telephone television tiger tractor train trout tulip turtle wardrobe whale ' +
  'willow_tree wolf woman worm'
).split(' ');

/**
 * Defaults of the procedural dataset (its size, labels and splits are parameters).
 * `generatorVersion` is the latest generator: a new run records it, and a run stored without one
 * was made by version 1 (see procedural.ts).
 */
export const PROCEDURAL_DEFAULTS = {
  imageSize: 32,
  channels: 3,
  labels: 10,
  trainSize: 10_000,
  testSize: 2_000,
  seed: 1,
  generatorVersion: 2,
} as const;

export const CATALOG: readonly DatasetEntry[] = [
  {
    name: 'procedural',
    title: 'Procedural motifs (built in; size, labels and splits are parameters)',
    source: 'procedural',
    inputShape: [
      PROCEDURAL_DEFAULTS.imageSize,
      PROCEDURAL_DEFAULTS.imageSize,
      PROCEDURAL_DEFAULTS.channels,
    ],
    labelNames: Array.from({ length: PROCEDURAL_DEFAULTS.labels }, (_, i) => `class ${i}`),
    trainSize: PROCEDURAL_DEFAULTS.trainSize,
    testSize: PROCEDURAL_DEFAULTS.testSize,
    folders: [],
    files: [],
  },
  {
    name: 'fashion-mnist',
    title: 'Fashion-MNIST (IDX files)',
    source: 'idx',
    inputShape: [28, 28, 1],
    labelNames: [
      'T-shirt/top',
      'Trouser',
      'Pullover',
      'Dress',
      'Coat',
      'Sandal',
      'Shirt',
      'Sneaker',
      'Bag',
      'Ankle boot',
    ],
    trainSize: 60_000,
    testSize: 10_000,
    folders: ['fashion-mnist', 'fashion_mnist', 'FashionMNIST'],
    files: IDX_FILES,
  },
  {
    name: 'mnist',
    title: 'MNIST (IDX files)',
    source: 'idx',
    inputShape: [28, 28, 1],
    labelNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    trainSize: 60_000,
    testSize: 10_000,
    folders: ['mnist', 'MNIST'],
    files: IDX_FILES,
  },
  {
    name: 'cifar-10',
    title: 'CIFAR-10 (binary version)',
    source: 'cifar',
    inputShape: [32, 32, 3],
    labelNames: CIFAR10_LABELS,
    trainSize: 50_000,
    testSize: 10_000,
    folders: ['cifar-10-batches-bin', 'cifar-10', 'cifar10'],
    files: [1, 2, 3, 4, 5].map((i) => [`data_batch_${i}.bin`]).concat([['test_batch.bin']]),
  },
  {
    name: 'cifar-100',
    title: 'CIFAR-100 (binary version, fine labels)',
    source: 'cifar',
    inputShape: [32, 32, 3],
    labelNames: CIFAR100_LABELS,
    trainSize: 50_000,
    testSize: 10_000,
    folders: ['cifar-100-binary', 'cifar-100', 'cifar100'],
    files: [['train.bin'], ['test.bin']],
  },
];

/** Folders searched for dataset files, in order: `FILTERSCOPE_DATA` entries, then /usr/share/datasets. */
export function dataRoots(filterscopeData: string | undefined): string[] {
  const roots = (filterscopeData ?? '').split(':').filter((p) => p.length > 0);
  return [...roots, '/usr/share/datasets'];
}

/** Looks for each catalog entry's files under `roots`. */
export function scanDatasets(roots: readonly string[]): DatasetAvailability[] {
  return CATALOG.map((entry) => locate(entry, roots));
}

function locate(entry: DatasetEntry, roots: readonly string[]): DatasetAvailability {
  if (entry.source === 'procedural') {
    return { ...entry, available: true, location: null, foundFiles: [], missingFiles: [] };
  }
  let bestMissing = entry.files.map((names) => names[0] ?? '');
  for (const root of roots) {
    for (const folder of entry.folders) {
      const dir = join(root, folder);
      if (!existsSync(dir)) continue;
      const present = new Set(safeList(dir));
      const found: string[] = [];
      const missing: string[] = [];
      for (const names of entry.files) {
        const hit = names.find((n) => present.has(n));
        if (hit) found.push(join(dir, hit));
        else missing.push(names[0] ?? '');
      }
      if (missing.length === 0) {
        return { ...entry, available: true, location: dir, foundFiles: found, missingFiles: [] };
      }
      if (found.length > 0 && missing.length < bestMissing.length) bestMissing = missing;
    }
  }
  return { ...entry, available: false, location: null, foundFiles: [], missingFiles: bestMissing };
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
