import type { ReportData } from './report-data.js';

/**
 * The settings tables of the report's README: which data each phase used and every setting of
 * each phase, with human names. A setting the API returns that is not named here is still listed,
 * under its API name, so that none is left out.
 */

export type Cell = string | number | boolean | null | undefined;

export const md = (v: Cell, digits = 3): string => {
  if (v === null || v === undefined) return 'n/a';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return String(v);
    return Math.abs(v) < 1e-3 ? v.toExponential(1) : Number(v.toFixed(digits)).toString();
  }
  return String(v).replace(/\|/g, '\\|');
};

export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly Cell[])[],
): string {
  const line = (cells: readonly Cell[]) => `| ${cells.map((c) => md(c, 3)).join(' | ')} |`;
  return [line(header), `| ${header.map(() => '---').join(' | ')} |`, ...rows.map(line)].join('\n');
}

const plain = (v: unknown): Cell =>
  v === null || ['string', 'number', 'boolean', 'undefined'].includes(typeof v)
    ? (v as Cell)
    : JSON.stringify(v);

/** Rows [human name, value] for `values`, in `names`' order, then any key `names` lacks. */
function namedRows(
  values: Record<string, unknown>,
  names: Record<string, string>,
  skip: readonly string[] = [],
): Cell[][] {
  const known = Object.entries(names)
    .filter(([key]) => key in values)
    .map(([key, name]) => [name, plain(values[key])]);
  const rest = Object.keys(values)
    .filter((key) => !(key in names) && !skip.includes(key))
    .map((key) => [key, plain(values[key])]);
  return [...known, ...rest];
}

/** "the first 4000 of 60000" or "all 60000". */
export function imagesUsed(used: number | null | undefined, of: number | null | undefined): string {
  if (of === null || of === undefined)
    return used === null || used === undefined ? 'all' : `the first ${used}`;
  if (used === null || used === undefined || used >= of) return `all ${of}`;
  return `the first ${used} of ${of}`;
}

const DATASET_OPTION_NAMES: Record<string, string> = {
  imageSize: 'Image size (pixels)',
  channels: 'Channels',
  labels: 'Labels',
  trainSize: 'Train images generated',
  testSize: 'Test images generated',
  seed: 'Generator seed',
  generatorVersion: 'Generator version',
};

/** The data: the dataset, its options (or that it has none), its splits and what each phase used. */
export function dataTable(data: ReportData): string {
  const { run, probe, dataset } = data;
  const options = run.datasetOptions ?? {};
  const hp = run.hyperparameters;
  // A procedural run's own sizes come first: the server's listing has the dataset's defaults.
  const trainSize = (options.trainSize as number | undefined) ?? dataset?.trainSize ?? null;
  const testSize = (options.testSize as number | undefined) ?? dataset?.testSize ?? null;
  const optionRows = namedRows(options, DATASET_OPTION_NAMES);
  const rows: Cell[][] = [
    ['Dataset', run.dataset],
    [
      'Dataset options',
      optionRows.length
        ? optionRows.map(([k, v]) => `${k}: ${md(v)}`).join('; ')
        : "none given: the dataset's own files and splits",
    ],
    ['Files', dataset?.location ?? (dataset ? 'generated (procedural)' : 'n/a')],
    ['Train split', trainSize === null ? 'n/a' : `${trainSize} images`],
    ['Test split', testSize === null ? 'n/a' : `${testSize} images`],
    ['Labels', `${data.labelNames.length}: ${data.labelNames.join(', ')}`],
    [
      'Phase 1 trained on',
      run.origin === 'IMPORTED'
        ? 'trained elsewhere (imported)'
        : `${imagesUsed(run.trainExamples ?? hp?.maxTrainExamples, trainSize)} train images`,
    ],
    [
      'Phase 1 tested on',
      `${imagesUsed(run.testExamples ?? (hp?.maxTestExamples as number | null), testSize)} test images`,
    ],
    [
      'Phase 2 heads trained on',
      `${imagesUsed(probe.options.maxTrainExamples as number | null, trainSize)} train images`,
    ],
    [
      'Phase 2 heads tested on',
      `${imagesUsed(probe.options.maxTestExamples as number | null, testSize)} test images`,
    ],
  ];
  return markdownTable(['Data', 'Value'], rows);
}

const TRAINING_NAMES: Record<string, string> = {
  epochs: 'Epochs',
  batchSize: 'Batch size',
  learningRate: 'Peak learning rate',
  schedule: 'Learning-rate schedule',
  momentum: 'Momentum',
  nesterov: 'Nesterov momentum',
  weightDecay: 'Weight decay',
  augmentation: 'Augmentation',
  seed: 'Seed (initialisation, shuffles, augmentation)',
  maxTrainExamples: 'Train images (first N; n/a: all)',
  maxTestExamples: 'Test images (first N; n/a: all)',
};

function scheduleText(s: unknown): Cell {
  if (!s || typeof s !== 'object') return plain(s);
  const { kind, warmupEpochs, milestones, factor } = s as Record<string, unknown>;
  const parts = [String(kind)];
  if (warmupEpochs) parts.push(`${String(warmupEpochs)} warm-up epochs`);
  if (Array.isArray(milestones) && milestones.length)
    parts.push(`x${md(factor as number)} at epochs ${milestones.join(', ')}`);
  return parts.join(', ');
}

/** Phase 1's settings, or where an imported network came from. */
export function trainingTable(run: ReportData['run']): string {
  if (run.imported) {
    const i = run.imported;
    return markdownTable(
      ['Imported network', 'Value'],
      [
        ['File', i.fileName],
        ['Format', i.format],
        ['Size (bytes)', i.sizeBytes],
        ['sha256', i.sha256],
      ],
    );
  }
  const hp = { ...(run.hyperparameters ?? {}) } as Record<string, unknown>;
  hp.schedule = scheduleText(hp.schedule);
  return markdownTable(['Phase 1 setting', 'Value'], namedRows(hp, TRAINING_NAMES));
}

const HEAD_NAMES: Record<string, string> = {
  layers: 'Probed layers',
  afterPooling: 'Read after the pooling that follows a layer',
  maxFeatures: 'Largest probe point (P x F values)',
  headEpochs: 'Head epochs',
  learningRate: 'Peak head learning rate (cosine decay)',
  momentum: 'Head momentum',
  weightDecay: 'Head weight decay',
  batchSize: 'Head batch size',
  seed: 'Head seed',
  replicates: 'Replicate heads per layer (seeds seed, seed+1, ...)',
  maxTrainExamples: 'Train images (first N; n/a: all)',
  maxTestExamples: 'Test images (first N; n/a: all)',
  featureCacheBytes: 'Feature cache (bytes)',
  filtersPerEvent: 'Filters per progress event',
};

const METRIC_NAMES: Record<string, string> = {
  threshold: 'Mark threshold (N >= threshold)',
  normalization: 'Normalisation of the matrix',
  minScale: 'Silent below scale (minScale)',
};

/** Phase 2's head settings and phase 3's metric settings, from the probe's resolved options. */
export function probeTables(probe: ReportData['probe'], heatmaps: number): string {
  const options = { ...probe.options } as Record<string, unknown>;
  if (Array.isArray(options.layers)) options.layers = options.layers.join(', ');
  const metrics = (options.metrics ?? {}) as Record<string, unknown>;
  const phase3 = [
    ...namedRows(metrics, METRIC_NAMES),
    ['Heatmaps', `the ${heatmaps} best and worst filters of each layer by SNR`],
  ];
  return [
    markdownTable(['Phase 2 setting', 'Value'], namedRows(options, HEAD_NAMES, ['metrics'])),
    markdownTable(['Phase 3 setting', 'Value'], phase3),
  ].join('\n\n');
}
