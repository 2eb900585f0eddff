import type { LayerOptions } from '../analysis/index.js';
import type { ProbePoint } from './probe-points.js';
import { DEFAULT_MAX_FEATURES } from './probe-points.js';

/*
 * Probe options and their defaults, without TensorFlow.js: the API validates and stores them,
 * the engine (probe.ts) runs with them.
 */

/** Parameters of {@link probe}; every field has METHOD.md's default. */
export interface ProbeOptions {
  /** Conv layer names to probe; default every conv layer, in network order. */
  readonly layers?: readonly string[] | null;
  /** Read each layer after the pooling blocks that immediately follow it; default true. */
  readonly afterPooling?: boolean;
  /** Largest flattened probe point (P * F); extra 2x2 max-pooling until it fits. Default 32768. */
  readonly maxFeatures?: number;
  /** Head training epochs; default 10. */
  readonly headEpochs?: number;
  /** Peak head learning rate, decayed per epoch by phase 1's cosine schedule; default 0.01. */
  readonly learningRate?: number;
  /** SGD momentum; default 0.9. */
  readonly momentum?: number;
  /** Weight decay lambda (added as lambda * w to the gradient, bias included); default 5e-4. */
  readonly weightDecay?: number;
  /** Default 128; the last batch of an epoch may be smaller. */
  readonly batchSize?: number;
  /** Use only the first N training examples; default null (all). */
  readonly maxTrainExamples?: number | null;
  /** Use only the first N test examples; default null (all). */
  readonly maxTestExamples?: number | null;
  /** Memory for caching probe-point features (float32, train + test), bytes; default 512 MiB. */
  readonly featureCacheBytes?: number;
  /** Seeds the heads' initialisation and the shuffle order; default 0. */
  readonly seed?: number;
  /** Phase-3 parameters: `threshold`, `normalization`, `minScale` (analysis/ defaults). */
  readonly metrics?: LayerOptions;
  /** Filters per `filters` event; default 64. */
  readonly filtersPerEvent?: number;
}

/** {@link ProbeOptions} with every default filled in (plain JSON, to store with a probe). */
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
  filtersPerEvent: 64,
} as const;

/** Fills in defaults and checks ranges; errors name the option and what it got. */
export function resolveProbeOptions(
  options: ProbeOptions,
  probePoints: readonly ProbePoint[],
): ResolvedProbeOptions {
  const r = {
    layers: probePoints.map((p) => p.layer),
    afterPooling: options.afterPooling ?? PROBE_DEFAULTS.afterPooling,
    maxFeatures: options.maxFeatures ?? PROBE_DEFAULTS.maxFeatures,
    headEpochs: options.headEpochs ?? PROBE_DEFAULTS.headEpochs,
    learningRate: options.learningRate ?? PROBE_DEFAULTS.learningRate,
    momentum: options.momentum ?? PROBE_DEFAULTS.momentum,
    weightDecay: options.weightDecay ?? PROBE_DEFAULTS.weightDecay,
    batchSize: options.batchSize ?? PROBE_DEFAULTS.batchSize,
    maxTrainExamples: options.maxTrainExamples ?? null,
    maxTestExamples: options.maxTestExamples ?? null,
    featureCacheBytes: options.featureCacheBytes ?? PROBE_DEFAULTS.featureCacheBytes,
    seed: options.seed ?? PROBE_DEFAULTS.seed,
    metrics: options.metrics ?? {},
    filtersPerEvent: options.filtersPerEvent ?? PROBE_DEFAULTS.filtersPerEvent,
  };
  const check = (name: string, ok: boolean, value: unknown, what: string): void => {
    if (!ok) throw new RangeError(`probe option ${name} must be ${what}, got ${String(value)}`);
  };
  const positiveInt = (v: number | null): boolean => v === null || (Number.isInteger(v) && v >= 1);
  check('headEpochs', positiveInt(r.headEpochs), r.headEpochs, 'a positive integer');
  check('batchSize', positiveInt(r.batchSize), r.batchSize, 'a positive integer');
  check('filtersPerEvent', positiveInt(r.filtersPerEvent), r.filtersPerEvent, 'a positive integer');
  for (const key of ['maxTrainExamples', 'maxTestExamples'] as const) {
    check(key, positiveInt(r[key]), r[key], 'a positive integer or null');
  }
  check('learningRate', r.learningRate > 0, r.learningRate, 'a positive number');
  check('momentum', r.momentum >= 0 && r.momentum < 1, r.momentum, 'in [0, 1)');
  check('weightDecay', r.weightDecay >= 0, r.weightDecay, 'a number >= 0');
  check('featureCacheBytes', r.featureCacheBytes >= 0, r.featureCacheBytes, 'a number >= 0');
  check('seed', Number.isInteger(r.seed) && r.seed >= 0, r.seed, 'an unsigned integer');
  return r;
}
