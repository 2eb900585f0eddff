import type { LayerOptions } from '../analysis/index.js';
import { Normalization } from '../analysis/metrics.js';
import { summarize, type ArchitectureSpec } from '../architecture/index.js';
import {
  arrayOf,
  boolean,
  ContractIssue,
  integer,
  nullable,
  number,
  object,
  oneOf,
  string,
  type Check,
} from './checks.js';
import {
  checkProbePoint,
  DEFAULT_MAX_FEATURES,
  resolveProbePoints,
  type ProbePoint,
} from './probe-points.js';

/**
 * Probe options (phases 2 and 3): their defaults, the one set of ranges, and the one plan the API
 * makes when a probe is started (options resolved, probe points placed). The probe stores the
 * plan; the runner sends it to the engine as it is.
 */

/** What a client may set; every field has METHOD.md's default. */
export interface ProbeOptions {
  /** Conv layer names to probe; default every conv layer, in network order. */
  readonly layers?: readonly string[] | null;
  /** Read each layer after the pooling blocks that immediately follow it; default true. */
  readonly afterPooling?: boolean | null;
  /** Largest flattened probe point (P * F), 1-16777216; extra 2x2 max-pooling until it fits. Default 32768. */
  readonly maxFeatures?: number | null;
  /** Head training epochs, 1-1000; default 10. */
  readonly headEpochs?: number | null;
  /** Peak head learning rate in (0, 10], decayed per epoch by phase 1's cosine schedule; default 0.01. */
  readonly learningRate?: number | null;
  /** SGD momentum in [0, 1); default 0.9. */
  readonly momentum?: number | null;
  /** Weight decay lambda in [0, 1] (added as lambda * w to the gradient, bias included); default 5e-4. */
  readonly weightDecay?: number | null;
  /** 1-8192, default 128; the last batch of an epoch may be smaller. */
  readonly batchSize?: number | null;
  /** Use only the first N training examples; default null (all). */
  readonly maxTrainExamples?: number | null;
  /** Use only the first N test examples; default null (all). */
  readonly maxTestExamples?: number | null;
  /** Memory for caching probe-point features (float32, train + test), bytes; default 512 MiB. */
  readonly featureCacheBytes?: number | null;
  /** Seeds the heads' initialisation and the shuffle order; unsigned 32-bit; default 0. */
  readonly seed?: number | null;
  /**
   * Heads trained per layer from different seeds on the same features, 1-20; SR(l) and the
   * aggregates are their mean (with the spread), filters come from the first. Default 3.
   */
  readonly replicates?: number | null;
  /** Phase-3 parameters: `threshold`, `normalization`, `minScale` (analysis/ defaults). */
  readonly metrics?: LayerOptions | null;
  /** Filters per `filters` event; default 64. */
  readonly filtersPerEvent?: number | null;
}

/** {@link ProbeOptions} with every default filled in (plain JSON, stored with a probe). */
export interface ResolvedProbeOptions {
  readonly layers: readonly string[];
  readonly afterPooling: boolean;
  readonly maxFeatures: number;
  readonly headEpochs: number;
  readonly learningRate: number;
  readonly momentum: number;
  readonly weightDecay: number;
  readonly batchSize: number;
  readonly maxTrainExamples: number | null;
  readonly maxTestExamples: number | null;
  readonly featureCacheBytes: number;
  readonly seed: number;
  readonly replicates: number;
  readonly metrics: LayerOptions;
  readonly filtersPerEvent: number;
}

export const PROBE_DEFAULTS = {
  afterPooling: true,
  maxFeatures: DEFAULT_MAX_FEATURES,
  headEpochs: 10,
  learningRate: 0.01,
  momentum: 0.9,
  weightDecay: 5e-4,
  batchSize: 128,
  featureCacheBytes: 512 * 1024 * 1024,
  seed: 0,
  replicates: 3,
  filtersPerEvent: 64,
} as const;

/** A probe as the engine runs it: the options, and where each probed layer is read. */
export interface ProbePlan {
  readonly options: ResolvedProbeOptions;
  /** One per probed layer, in network order (`options.layers`). */
  readonly points: readonly ProbePoint[];
}

/** The range of every field. */
const FIELDS: Record<keyof ResolvedProbeOptions, Check> = {
  layers: arrayOf(string, 1),
  afterPooling: boolean,
  maxFeatures: integer(1, 2 ** 24),
  headEpochs: integer(1, 1000),
  learningRate: number(0, 10, { above: true }),
  momentum: number(0, 1, { below: true }),
  weightDecay: number(0, 1),
  batchSize: integer(1, 8192),
  maxTrainExamples: nullable(integer(1)),
  maxTestExamples: nullable(integer(1)),
  featureCacheBytes: number(0),
  seed: integer(0, 0xffffffff),
  replicates: integer(1, 20),
  metrics: object(
    {
      threshold: number(),
      normalization: oneOf(Object.values(Normalization)),
      minScale: number(0, 1),
    },
    ['threshold', 'normalization', 'minScale'],
  ),
  filtersPerEvent: integer(1),
};

/** What planning needs to know of the run. */
export interface ProbeContext {
  readonly spec: ArchitectureSpec;
  /** Cap `maxTrainExamples` / `maxTestExamples` when given (the run's example counts). */
  readonly trainSize?: number | null;
  readonly testSize?: number | null;
}

/**
 * Checks what a client sent, fills in the defaults and places the probe points: the plan a probe
 * stores and the engine runs. Throws `ContractIssue` with the field's path (`headEpochs`,
 * `layers[1]`, ...).
 */
export function planProbe(input: ProbeOptions, context: ProbeContext): ProbePlan {
  const given: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input))
    if (value !== undefined && value !== null) given[key] = value;
  object(FIELDS, Object.keys(FIELDS))(given, '');
  const caps = { maxTrainExamples: context.trainSize, maxTestExamples: context.testSize };
  for (const [key, cap] of Object.entries(caps))
    if (typeof cap === 'number' && given[key] !== undefined)
      integer(1, Math.max(1, cap))(given[key], key);
  const convNames = summarize(context.spec)
    .layers.filter((l) => l.kind === 'conv')
    .map((l) => l.name);
  if (convNames.length === 0)
    throw new ContractIssue('layers', [], `architecture ${context.spec.name} has no conv layer`);
  const asked = given.layers as readonly string[] | undefined;
  asked?.forEach((name, i) => {
    if (!convNames.includes(name))
      throw new ContractIssue(
        `layers[${i}]`,
        name,
        `is not a conv layer of architecture ${JSON.stringify(context.spec.name)} (valid: ${convNames.join(', ')})`,
      );
    if (asked.indexOf(name) !== i) throw new ContractIssue(`layers[${i}]`, name, 'is named twice');
  });
  // Probed in network order, whatever the order asked.
  const layers = asked ? convNames.filter((n) => asked.includes(n)) : convNames;
  const options: ResolvedProbeOptions = {
    ...PROBE_DEFAULTS,
    maxTrainExamples: null,
    maxTestExamples: null,
    metrics: {},
    ...(given as Partial<ResolvedProbeOptions>),
    layers,
  };
  const points = resolveProbePoints(
    context.spec,
    layers,
    options.afterPooling,
    options.maxFeatures,
  );
  return { options, points };
}

/** Checks a stored plan (a `probe` message's): every option resolved, one point per layer. */
export function checkProbePlan(value: unknown, path: string): asserts value is ProbePlan {
  object({ options: object(FIELDS), points: arrayOf(checkProbePoint, 1) })(value, path);
  const plan = value as ProbePlan;
  const names = plan.points.map((p) => p.layer).join(',');
  if (names !== plan.options.layers.join(','))
    throw new ContractIssue(
      `${path}.points`,
      names,
      `must be one per layer of options.layers (${plan.options.layers.join(', ')}), in order`,
    );
}
