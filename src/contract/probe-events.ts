import type { LayerAggregates } from '../analysis/index.js';
import type { ProbePoint } from './probe-points.js';

/**
 * What a probe reports as it runs (engine/probe.ts emits these; the runner stores them): plain
 * JSON, the same on both sides of the engine thread.
 */

/** One head epoch of one layer. */
export interface HeadEpochMetrics {
  /** 1-based. */
  readonly epoch: number;
  readonly learningRate: number;
  /** Mean softmax cross-entropy over the epoch's training batches (nats). */
  readonly trainLoss: number;
  /** Head test accuracy after the epoch, in [0, 1]. */
  readonly testSR: number;
}

/** One filter's phase-3 result, plain JSON. */
export interface FilterSummary {
  /** Filter index k in the layer. */
  readonly index: number;
  /** Raw correlation matrix `[C, C]` row-major (row = true label), the float32 values. */
  readonly matrix: number[];
  readonly scale: number;
  readonly silent: boolean;
  readonly preferredLabel: number;
  readonly preference: number;
  readonly clusters: number[][];
  readonly signal: number;
  readonly noise: number;
  readonly snr: number | null;
  readonly noiseFree: boolean;
  /** Head test SR minus the SR with this filter's readout weights zeroed (bias kept). */
  readonly ablation: number;
}

/** AFCC on one layer's head. */
export interface AfccSummary {
  /** Head kernel weights kept / all kernel weights (bias excluded), in [0, 1]. */
  readonly keptFraction: number;
  readonly kept: number;
  readonly total: number;
  /** Head test SR before masking (= the layer's SR). */
  readonly srBefore: number;
  /** Test SR of the masked head, bias kept, without retraining. */
  readonly srAfter: number;
}

/** Progress of {@link probe}, plain JSON, in this order per layer. */
export type ProbeEvent =
  | {
      readonly type: 'started';
      readonly probePoints: readonly ProbePoint[];
      readonly trainExamples: number;
      readonly testExamples: number;
      readonly featuresCached: boolean;
      readonly backend: string;
      /** The device the backend runs on, added by the engine thread (worker.ts). */
      readonly device?: string;
    }
  | {
      readonly type: 'headEpoch';
      readonly layer: string;
      readonly epoch: number;
      readonly epochs: number;
      readonly learningRate: number;
      readonly trainLoss: number;
      readonly testSR: number;
    }
  | {
      readonly type: 'layerSR';
      readonly layer: string;
      readonly successRate: number;
      readonly history: readonly HeadEpochMetrics[];
    }
  | { readonly type: 'filters'; readonly layer: string; readonly filters: FilterSummary[] }
  | {
      readonly type: 'layerDone';
      readonly layer: string;
      /** Of the first replicate, whose filters are reported. */
      readonly aggregates: LayerAggregates;
      /** SR(l) and the aggregates over every replicate. */
      readonly replicates: ReplicateSummary;
      readonly afcc: AfccSummary;
      readonly probePoint: {
        readonly shape: readonly [number, number, number];
        readonly extraPoolings: number;
        readonly poolings: readonly string[];
      };
    }
  | {
      /** The frozen pass's progress over a split, at most once a second and at its end. */
      readonly type: 'features';
      readonly split: 'train' | 'test';
      readonly done: number;
      readonly total: number;
      /** Examples per second of the frozen network so far. */
      readonly imagesPerSecond: number;
    };

export type ProbeEventType = ProbeEvent['type'];

/** A quantity measured once per replicate (head seed): its mean, standard deviation and values. */
export interface Spread {
  /** Over the replicates where it is defined; null where it is defined for none. */
  readonly mean: number | null;
  /** Sample standard deviation (n - 1) of the same values; 0 with one, null with none. */
  readonly std: number | null;
  /** One per replicate, in seed order; null where the quantity is undefined (an SNR without noise). */
  readonly values: readonly (number | null)[];
}

/** One probed layer over a probe's replicates (heads trained from several seeds on one pass). */
export interface ReplicateSummary {
  readonly replicates: number;
  readonly successRate: Spread;
  readonly snr: Spread;
  readonly meanNoise: Spread;
  readonly meanClusterSize: Spread;
  readonly meanClustersPerFilter: Spread;
  readonly clusteredFraction: Spread;
}

/** Where a probe's time went, and how its frozen features were computed and kept. */
export interface ProbeTimings {
  /** The frozen network's pass over the train and test examples, seconds. */
  readonly featuresSeconds: number;
  /** Every head's training and test evaluations (all replicates), seconds. */
  readonly headsSeconds: number;
  /** Correlation matrices, metrics and ablation, seconds. */
  readonly phase3Seconds: number;
  /** The masked heads' evaluation, seconds. */
  readonly afccSeconds: number;
  /** What ran the frozen pass: a TensorFlow.js backend name, or `onnxruntime`. */
  readonly frozenPath: string;
  /** Where the features were kept between head epochs. */
  readonly featureStore: 'memory' | 'disk-float32' | 'disk-float16' | 'none';
  /** Examples per second of the frozen pass. */
  readonly featureImagesPerSecond: number;
}
