import { UsageError, parseFlags, type Flag, type ParsedFlags } from './args.js';

/**
 * Defaults that size a run of a 28x28 grey file dataset to well under an hour on a 2-core CPU
 * with the wasm backend (VGG-6/28x28x1 on fashion-mnist: 9 min 17 s measured). Other datasets take the server's
 * defaults (whole splits, 30 epochs, 10 head epochs).
 */
export const QUICK_DEFAULTS: Readonly<
  Record<string, { train: number; test: number; epochs: number; headEpochs: number }>
> = {
  'fashion-mnist': { train: 6000, test: 2000, epochs: 3, headEpochs: 5 },
  mnist: { train: 6000, test: 2000, epochs: 3, headEpochs: 5 },
};

export const DEFAULT_DATASET = 'fashion-mnist';
export const DEFAULT_RETRY_SECONDS = 120;
export const DEFAULT_HEATMAPS = 3;

/** What `filterscope reproduce` was asked to do, checked but not yet sent to a server. */
export interface ReproducePlan {
  readonly help: boolean;
  /** GraphQL endpoint, or null for an embedded server. */
  readonly url: string | null;
  readonly apiKey: string | null;
  readonly retryForMs: number;
  /** `train`: all three phases; `run`: probe an existing run; `probe`: report an existing probe. */
  readonly mode: 'train' | 'run' | 'probe';
  readonly runId: string | null;
  readonly probeId: string | null;
  readonly dataset: string;
  /** Preset name, id, spec file or inline JSON; null: the preset matching the dataset. */
  readonly arch: string | null;
  readonly out: string | null;
  readonly heatmaps: number;
  readonly progress: boolean;
  readonly flags: ParsedFlags;
}

const TRAINING_FLAGS: readonly Flag[] = [
  'epochs',
  'batch-size',
  'lr',
  'momentum',
  'nesterov',
  'weight-decay',
  'schedule',
  'warmup',
  'milestones',
  'factor',
  'augmentation',
  'seed',
  'keep-checkpoints',
  'max-attempts',
  'train',
  'test',
];
const DATA_FLAGS: readonly Flag[] = ['image-size', 'channels', 'labels', 'data-seed'];
const PROBE_FLAGS: readonly Flag[] = [
  'layers',
  'head-epochs',
  'head-lr',
  'head-momentum',
  'head-weight-decay',
  'head-batch-size',
  'max-features',
  'after-pooling',
  'probe-train',
  'probe-test',
  'probe-seed',
];

function refuse(flags: ParsedFlags, names: readonly Flag[], why: string): void {
  const given = names.find((f) => flags[f] !== undefined);
  if (given) throw new UsageError(`--${given} cannot be used ${why}`);
}

/** The GraphQL URL as given, with `/graphql` added when it has no path. */
export function normaliseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--url: expected an http:// or https:// URL, got ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`--url: expected an http:// or https:// URL, got ${JSON.stringify(raw)}`);
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/graphql';
  return url.toString();
}

/**
 * Parses and cross-checks the command line. `env` supplies `FILTERSCOPE_API_KEY`. Throws
 * `UsageError` naming the flag and value.
 */
export function planFromArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): ReproducePlan {
  const flags = parseFlags(argv);
  const mode = flags.probe !== undefined ? 'probe' : flags.run !== undefined ? 'run' : 'train';
  if (flags.probe !== undefined) {
    refuse(flags, ['run', 'dataset', 'arch'], 'with --probe');
    refuse(
      flags,
      [...TRAINING_FLAGS, ...DATA_FLAGS, ...PROBE_FLAGS],
      'with --probe (it reports a probe that exists)',
    );
  }
  if (flags.run !== undefined) {
    refuse(flags, ['dataset', 'arch'], 'with --run (the run has its own)');
    refuse(
      flags,
      [...TRAINING_FLAGS, ...DATA_FLAGS],
      'with --run (phase 1 is skipped; --probe-train and --probe-test size the probe)',
    );
  }
  const dataset = (flags.dataset as string | undefined) ?? DEFAULT_DATASET;
  if (mode === 'train' && dataset !== 'procedural') {
    const given = DATA_FLAGS.find((f) => flags[f] !== undefined);
    if (given)
      throw new UsageError(
        `--${given} is an option of the procedural dataset, not of --dataset ${JSON.stringify(dataset)}`,
      );
  }
  const schedule = flags.schedule as string | undefined;
  if (schedule !== 'step') {
    const given = (['milestones', 'factor'] as const).find((f) => flags[f] !== undefined);
    if (given)
      throw new UsageError(
        `--${given} needs --schedule step, got --schedule ${JSON.stringify(schedule ?? 'cosine')}`,
      );
  }
  const key = (flags['api-key'] as string | undefined) ?? env.FILTERSCOPE_API_KEY ?? '';
  return {
    help: flags.help === true,
    url: flags.url === undefined ? null : normaliseUrl(flags.url as string),
    apiKey: key.length > 0 ? key : null,
    retryForMs: ((flags['retry-for'] as number | undefined) ?? DEFAULT_RETRY_SECONDS) * 1000,
    mode,
    runId: (flags.run as string | undefined) ?? null,
    probeId: (flags.probe as string | undefined) ?? null,
    dataset,
    arch: (flags.arch as string | undefined) ?? null,
    out: (flags.out as string | undefined) ?? null,
    heatmaps: (flags.heatmaps as number | undefined) ?? DEFAULT_HEATMAPS,
    progress: flags.progress !== false,
    flags,
  };
}

/** `startTraining`'s input less the architecture id, defaults of QUICK_DEFAULTS filled in. */
export function trainingInputFor(plan: ReproducePlan): {
  dataset: string;
  datasetOptions?: Record<string, number>;
  hyperparameters: Record<string, unknown>;
  keepCheckpoints?: number;
  maxAttempts?: number;
} {
  const f = plan.flags;
  const quick = QUICK_DEFAULTS[plan.dataset];
  const hp: Record<string, unknown> = {};
  const put = (key: string, value: unknown) => {
    if (value !== undefined) hp[key] = value;
  };
  put('epochs', f.epochs ?? quick?.epochs);
  put('batchSize', f['batch-size']);
  put('learningRate', f.lr);
  put('momentum', f.momentum);
  put('nesterov', f.nesterov);
  put('weightDecay', f['weight-decay']);
  put('seed', f.seed);
  if (f.augmentation !== undefined)
    hp.augmentation = f.augmentation === 'crop-flip' ? 'CROP_FLIP' : 'NONE';
  if (f.schedule !== undefined || f.warmup !== undefined) {
    const schedule: Record<string, unknown> = {
      kind: ((f.schedule as string | undefined) ?? 'cosine').toUpperCase(),
    };
    if (f.warmup !== undefined) schedule.warmupEpochs = f.warmup;
    if (f.milestones !== undefined) schedule.milestones = f.milestones;
    if (f.factor !== undefined) schedule.factor = f.factor;
    hp.schedule = schedule;
  }
  const input: ReturnType<typeof trainingInputFor> = { dataset: plan.dataset, hyperparameters: hp };
  if (plan.dataset === 'procedural') {
    const options: Record<string, number> = {};
    const opt = (key: string, flag: Flag) => {
      if (f[flag] !== undefined) options[key] = f[flag] as number;
    };
    opt('imageSize', 'image-size');
    opt('channels', 'channels');
    opt('labels', 'labels');
    opt('trainSize', 'train');
    opt('testSize', 'test');
    opt('seed', 'data-seed');
    if (Object.keys(options).length > 0) input.datasetOptions = options;
  } else {
    put('maxTrainExamples', f.train ?? quick?.train);
    // Phase 1 measures its test SR on the same subset the probe is tested on.
    put('maxTestExamples', f.test ?? quick?.test);
  }
  if (f['keep-checkpoints'] !== undefined) input.keepCheckpoints = f['keep-checkpoints'] as number;
  if (f['max-attempts'] !== undefined) input.maxAttempts = f['max-attempts'] as number;
  return input;
}

/**
 * `startProbe`'s input. `run` is what the server says of the run: a capped run's probe trains its
 * heads on the same examples (`maxTrainExamples`), and a file dataset's probe tests on `--test`
 * (or QUICK_DEFAULTS) examples.
 */
export function probeInputFor(
  plan: ReproducePlan,
  run: { id: string; dataset: string; maxTrainExamples: number | null },
): Record<string, unknown> {
  const f = plan.flags;
  const quick = QUICK_DEFAULTS[run.dataset];
  const input: Record<string, unknown> = { runId: run.id };
  const put = (key: string, value: unknown) => {
    if (value !== undefined && value !== null) input[key] = value;
  };
  put('layers', f.layers);
  put('headEpochs', f['head-epochs'] ?? quick?.headEpochs);
  put('learningRate', f['head-lr']);
  put('momentum', f['head-momentum']);
  put('weightDecay', f['head-weight-decay']);
  put('batchSize', f['head-batch-size']);
  put('maxFeatures', f['max-features']);
  put('afterPooling', f['after-pooling']);
  put('seed', f['probe-seed']);
  put('maxTrainExamples', f['probe-train'] ?? run.maxTrainExamples);
  // The procedural dataset's --test is its testSize; a file dataset's is the probe's test subset.
  const test = run.dataset === 'procedural' ? undefined : (f.test ?? quick?.test);
  put('maxTestExamples', f['probe-test'] ?? test);
  return input;
}
