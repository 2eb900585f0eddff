import * as tf from '@tensorflow/tfjs';
import type { HeadShape, LayerAggregates } from '../analysis/index.js';
import {
  AblationAccumulator,
  CorrelationAccumulator,
  afccWeights,
  layerMetrics,
} from '../analysis/index.js';
import { normalizeInto } from '../data/normalize.js';
import { Random } from '../data/random.js';
import type { ChannelStats, LoadedDataset, Split } from '../data/types.js';
import { decodeCheckpoint } from './checkpoint.js';
import { BatchClock, batchesAfterCancel, type CancelSignal } from './cancel.js';
import { buildModel, buildProbeModel, writeVariables } from './model.js';
import { SgdOptimizer } from './optimizer.js';
import type { ProbePoint } from './probe-points.js';
import { resolveProbePoints } from './probe-points.js';
import {
  PROBE_DEFAULTS,
  resolveProbeOptions,
  type ProbeOptions,
  type ResolvedProbeOptions,
} from './probe-options.js';
import { learningRateAt } from './schedule.js';

export type { ProbePoint } from './probe-points.js';
export { DEFAULT_MAX_FEATURES, resolveProbePoints } from './probe-points.js';
export type { ProbeOptions, ResolvedProbeOptions } from './probe-options.js';
export { PROBE_DEFAULTS, resolveProbeOptions } from './probe-options.js';

/**
 * Phases 2 and 3 of docs/METHOD.md on a phase-1 checkpoint: a dense head per probed conv layer
 * trained on the frozen network (SR per layer), then every filter's correlation matrix, metrics
 * and ablation score, the layer aggregates and AFCC.
 *
 * All heads train together: each batch goes once through the frozen network (one multi-output
 * model) and feeds every head. When the probe points' features of the examples used fit
 * `featureCacheBytes`, they are kept in memory after the first pass, and later epochs, the test
 * evaluations, phase 3 and AFCC run without the frozen network.
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
      readonly aggregates: LayerAggregates;
      readonly afcc: AfccSummary;
      readonly probePoint: {
        readonly shape: readonly [number, number, number];
        readonly extraPoolings: number;
        readonly poolings: readonly string[];
      };
    };

export type ProbeEventType = ProbeEvent['type'];

/** Everything phases 2 and 3 found for one layer. */
export interface LayerProbeResult {
  readonly layer: string;
  readonly probePoint: ProbePoint;
  /** SR(l): head test accuracy after the last epoch, in [0, 1]. */
  readonly successRate: number;
  readonly history: readonly HeadEpochMetrics[];
  /** The trained head: kernel `[P * F, C]` (flat input index p * F + k) and bias `[C]`. */
  readonly head: { readonly kernel: Float32Array; readonly bias: Float32Array };
  readonly shape: HeadShape;
  /** F raw correlation matrices, `[C, C]` float32 each. */
  readonly matrices: readonly Float32Array[];
  readonly filters: readonly FilterSummary[];
  readonly aggregates: LayerAggregates;
  readonly afcc: AfccSummary;
}

export interface ProbeResult {
  /** `cancelled`: the signal aborted; `layers` is then empty. */
  readonly status: 'finished' | 'cancelled';
  readonly options: ResolvedProbeOptions;
  readonly layers: readonly LayerProbeResult[];
  /** Batches run through the frozen network (one call feeds every probed layer). */
  readonly forwardCalls: number;
  readonly featuresCached: boolean;
  readonly trainExamples: number;
  readonly testExamples: number;
  /** tfjs backend name, e.g. `wasm`. */
  readonly backend: string;
  readonly wallSeconds: number;
  /** `cancelled` after a cancel that carried its commit time: batches finished after it. */
  readonly batchesAfterCancel?: number;
}

/**
 * Runs phases 2 and 3 on a trained network.
 *
 * The network is rebuilt from `checkpoint` in inference mode (batch norm with its running
 * statistics) and frozen; inputs are pixel bytes / 255 standardised with the checkpoint's
 * per-channel statistics, without augmentation. Events go to `onEvent` in this order: `started`;
 * `headEpoch` for every layer after every head epoch; `layerSR` per layer; then per layer its
 * `filters` (in chunks of `filtersPerEvent`) and `layerDone`.
 *
 * Cost: without the feature cache, headEpochs * (train + test batches) + test batches forward
 * passes (phase 3 shares the last evaluation; AFCC needs one more pass); with it, one pass over
 * the training and test examples. Leaves `tf.memory().numTensors` as it found it.
 *
 * @param checkpoint bytes of a phase-1 checkpoint (`encodeCheckpoint`)
 * @param dataset the dataset the checkpoint was trained on (same input shape and labels)
 * @param onEvent progress, plain JSON
 * @param signal checked between batches; when aborted, returns with status `cancelled`
 */
export async function probe(
  checkpoint: Uint8Array,
  dataset: LoadedDataset,
  options: ProbeOptions,
  onEvent: (event: ProbeEvent) => void,
  signal?: CancelSignal,
): Promise<ProbeResult> {
  const started = performance.now();
  const saved = decodeCheckpoint(checkpoint);
  const spec = saved.meta.architecture;
  if (spec.inputShape.join('x') !== dataset.inputShape.join('x')) {
    throw new Error(
      `the checkpoint's architecture ${spec.name} takes inputs of shape [${spec.inputShape.join(', ')}], dataset ${dataset.name} has [${dataset.inputShape.join(', ')}]`,
    );
  }
  if (spec.labels !== dataset.labelNames.length) {
    throw new Error(
      `the checkpoint's architecture ${spec.name} has ${spec.labels} labels, dataset ${dataset.name} has ${dataset.labelNames.length}`,
    );
  }
  const points = resolveProbePoints(
    spec,
    options.layers ?? undefined,
    options.afterPooling ?? PROBE_DEFAULTS.afterPooling,
    options.maxFeatures ?? PROBE_DEFAULTS.maxFeatures,
  );
  const opts = resolveProbeOptions(options, points);
  const trainSplit = firstExamples(dataset.train, opts.maxTrainExamples);
  const testSplit = firstExamples(dataset.test, opts.maxTestExamples);
  if (trainSplit.count === 0 || testSplit.count === 0) {
    throw new Error(
      `dataset ${dataset.name} has ${trainSplit.count} training and ${testSplit.count} test examples to probe with; both must be at least 1`,
    );
  }
  const labels = spec.labels;
  const totalFeatures = points.reduce((s, p) => s + p.features, 0);
  const cacheBytes = 4 * totalFeatures * (trainSplit.count + testSplit.count);
  const cached = cacheBytes <= opts.featureCacheBytes;
  const backend = tf.getBackend();

  const model = buildModel(spec, 0);
  const heads: Head[] = [];
  try {
    writeVariables(model, saved.weights);
    const frozen = new FrozenFeatures(
      buildProbeModel(
        model,
        spec,
        points.map((p) => p.source),
      ),
      points,
      dataset.inputShape,
      saved.meta.normalization,
      opts.batchSize,
      cached ? { train: trainSplit.count, test: testSplit.count } : null,
    );
    const seeds = new Random(opts.seed ^ 0x4ead5eed);
    for (const point of points) heads.push(new Head(point, labels, seeds.int(0x7fffffff), opts));
    onEvent({
      type: 'started',
      probePoints: points,
      trainExamples: trainSplit.count,
      testExamples: testSplit.count,
      featuresCached: cached,
      backend,
    });
    const clock = new BatchClock();
    const cancelled = (): ProbeResult => ({
      status: 'cancelled',
      ...batchesAfterCancel(clock, signal),
      options: opts,
      layers: [],
      forwardCalls: frozen.forwardCalls,
      featuresCached: cached,
      trainExamples: trainSplit.count,
      testExamples: testSplit.count,
      backend,
      wallSeconds: (performance.now() - started) / 1000,
    });

    // Phase 2: every head, one shared pass per batch.
    const rng = new Random(opts.seed);
    let phase3: Phase3[] = [];
    for (let e = 0; e < opts.headEpochs; e++) {
      const lr = learningRateAt({ kind: 'cosine' }, opts.learningRate, e, opts.headEpochs);
      const order = rng.shuffle(Int32Array.from({ length: trainSplit.count }, (_, i) => i));
      for (const head of heads) head.startEpoch();
      for (let start = 0; start < trainSplit.count; start += opts.batchSize) {
        if (signal?.aborted) return cancelled();
        const batch = await frozen.batch('train', trainSplit, order, start);
        try {
          heads.forEach((head, i) => head.step(batch.features[i] as tf.Tensor2D, batch.y, lr));
        } finally {
          batch.dispose();
        }
        clock.tick();
        await nextTick();
      }
      const last = e === opts.headEpochs - 1;
      if (last) phase3 = await Promise.all(heads.map(async (h) => h.phase3()));
      const correct = new Array<number>(heads.length).fill(0);
      for (let start = 0; start < testSplit.count; start += opts.batchSize) {
        if (signal?.aborted) return cancelled();
        const batch = await frozen.batch('test', testSplit, null, start);
        try {
          for (let i = 0; i < heads.length; i++) {
            const features = batch.features[i] as tf.Tensor2D;
            const logits = await (heads[i] as Head).logits(features);
            correct[i]! += countCorrect(logits, batch.labels, labels);
            if (last) {
              const activations = (await features.data()) as Float32Array;
              phase3[i]!.correlation.add(activations, batch.labels);
              phase3[i]!.ablation.add(activations, logits, batch.labels);
            }
          }
        } finally {
          batch.dispose();
        }
        clock.tick();
        await nextTick();
      }
      for (let i = 0; i < heads.length; i++) {
        const head = heads[i] as Head;
        const metrics = await head.endEpoch(e, lr, correct[i]! / testSplit.count);
        onEvent({
          type: 'headEpoch',
          layer: head.point.layer,
          epochs: opts.headEpochs,
          ...metrics,
        });
      }
    }
    for (const head of heads) {
      onEvent({
        type: 'layerSR',
        layer: head.point.layer,
        successRate: head.successRate(),
        history: head.history,
      });
    }

    // Phase 3: metrics from the accumulated matrices, then AFCC's masked heads in one pass.
    const analysed = heads.map((head, i) => {
      const { correlation, ablation, kernel, shape } = phase3[i] as Phase3;
      const matrices = correlation.finish();
      const ablated = ablation.finish();
      const { filters, aggregates } = layerMetrics(matrices, opts.metrics);
      const summaries = filters.map((f, k): FilterSummary => ({
        index: k,
        matrix: Array.from(matrices[k] as Float32Array),
        scale: f.scale,
        silent: f.silent,
        preferredLabel: f.preferredLabel,
        preference: f.preference,
        clusters: f.clusters,
        signal: f.signal,
        noise: f.noise,
        snr: f.snr,
        noiseFree: f.noiseFree,
        ablation: ablated.ablation[k] as number,
      }));
      const masked = afccWeights(
        kernel,
        filters.map((f) => f.clusters),
        shape,
      );
      return { head, kernel, shape, matrices, summaries, aggregates, masked };
    });
    const maskedCorrect = new Array<number>(heads.length).fill(0);
    const maskedKernels = analysed.map((a) =>
      tf.tensor2d(a.masked.weights, [a.shape.positions * a.shape.filters, labels]),
    );
    try {
      for (let start = 0; start < testSplit.count; start += opts.batchSize) {
        if (signal?.aborted) return cancelled();
        const batch = await frozen.batch('test', testSplit, null, start);
        try {
          for (let i = 0; i < heads.length; i++) {
            const features = batch.features[i] as tf.Tensor2D;
            const logits = await (heads[i] as Head).logits(features, maskedKernels[i]);
            maskedCorrect[i]! += countCorrect(logits, batch.labels, labels);
          }
        } finally {
          batch.dispose();
        }
        clock.tick();
        await nextTick();
      }
    } finally {
      tf.dispose(maskedKernels);
    }

    const layers: LayerProbeResult[] = [];
    for (let i = 0; i < analysed.length; i++) {
      const a = analysed[i]!;
      const point = a.head.point;
      const successRate = a.head.successRate();
      const afcc: AfccSummary = {
        keptFraction: a.masked.keptFraction,
        kept: a.masked.kept,
        total: a.masked.total,
        srBefore: successRate,
        srAfter: maskedCorrect[i]! / testSplit.count,
      };
      for (let k = 0; k < a.summaries.length; k += opts.filtersPerEvent) {
        onEvent({
          type: 'filters',
          layer: point.layer,
          filters: a.summaries.slice(k, k + opts.filtersPerEvent),
        });
      }
      onEvent({
        type: 'layerDone',
        layer: point.layer,
        aggregates: a.aggregates,
        afcc,
        probePoint: {
          shape: point.shape,
          extraPoolings: point.extraPoolings,
          poolings: point.poolings,
        },
      });
      layers.push({
        layer: point.layer,
        probePoint: point,
        successRate,
        history: a.head.history,
        head: { kernel: a.kernel, bias: await a.head.readBias() },
        shape: a.shape,
        matrices: a.matrices,
        filters: a.summaries,
        aggregates: a.aggregates,
        afcc,
      });
    }
    return {
      status: 'finished',
      options: opts,
      layers,
      forwardCalls: frozen.forwardCalls,
      featuresCached: cached,
      trainExamples: trainSplit.count,
      testExamples: testSplit.count,
      backend,
      wallSeconds: (performance.now() - started) / 1000,
    };
  } finally {
    for (const head of heads) head.dispose();
    model.dispose();
  }
}

/** Lets an abort (an event on this thread) arrive between batches. */
const nextTick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function firstExamples(split: Split, max: number | null): Split {
  if (max === null || max >= split.count) return split;
  const pixels = split.images.length / split.count;
  return {
    images: split.images.subarray(0, max * pixels),
    labels: split.labels.subarray(0, max),
    count: max,
  };
}

/** Correct rows of `[n, C]` logits; argmax ties go to the lowest label, as in analysis/. */
function countCorrect(logits: Float32Array, truth: Int32Array, labels: number): number {
  let correct = 0;
  for (let x = 0; x < truth.length; x++) {
    let best = 0;
    for (let j = 1; j < labels; j++) {
      if (logits[x * labels + j]! > logits[x * labels + best]!) best = j;
    }
    if (best === truth[x]) correct++;
  }
  return correct;
}

/** One batch of probe-point features, `[n, P * F]` per probed layer; dispose when done. */
interface FeatureBatch {
  readonly features: tf.Tensor2D[];
  readonly labels: Int32Array;
  readonly y: tf.Tensor1D;
  dispose(): void;
}

/**
 * The frozen network's probe-point features, batch by batch: from a forward pass, or, once a
 * split has been seen whole and the cache is on, from memory.
 */
class FrozenFeatures {
  /** Forward passes run (each feeds every probed layer). */
  forwardCalls = 0;
  private readonly pixels: number;
  private readonly bytes: Uint8Array;
  private readonly inputs: Float32Array;
  private readonly labels: Int32Array;
  private readonly cache: Record<'train' | 'test', { rows: Float32Array[]; complete: boolean }>;

  constructor(
    private readonly model: tf.LayersModel,
    private readonly points: readonly ProbePoint[],
    private readonly inputShape: readonly [number, number, number],
    private readonly stats: ChannelStats,
    private readonly batchSize: number,
    cacheCounts: { train: number; test: number } | null,
  ) {
    this.pixels = inputShape[0] * inputShape[1] * inputShape[2];
    this.bytes = new Uint8Array(batchSize * this.pixels);
    this.inputs = new Float32Array(batchSize * this.pixels);
    this.labels = new Int32Array(batchSize);
    const rows = (count: number): Float32Array[] =>
      cacheCounts ? points.map((p) => new Float32Array(count * p.features)) : [];
    this.cache = {
      train: { rows: rows(cacheCounts?.train ?? 0), complete: false },
      test: { rows: rows(cacheCounts?.test ?? 0), complete: false },
    };
  }

  /**
   * Features of examples `order[start .. start + batchSize)` of `split` (split order when
   * `order` is null). A split's cache is complete after the first pass that reaches its end;
   * passes always cover a split whole, in batches from 0.
   */
  async batch(
    which: 'train' | 'test',
    split: Split,
    order: Int32Array | null,
    start: number,
  ): Promise<FeatureBatch> {
    const count = Math.min(this.batchSize, split.count - start);
    const index = (i: number): number => (order ? (order[start + i] as number) : start + i);
    const labels = this.labels.subarray(0, count);
    for (let i = 0; i < count; i++) labels[i] = split.labels[index(i)] as number;
    const cache = this.cache[which];
    let features: tf.Tensor2D[];
    if (cache.complete) {
      features = this.points.map((p, l) => {
        const rows = cache.rows[l] as Float32Array;
        const out = new Float32Array(count * p.features);
        for (let i = 0; i < count; i++) {
          const at = index(i) * p.features;
          out.set(rows.subarray(at, at + p.features), i * p.features);
        }
        return tf.tensor2d(out, [count, p.features]);
      });
    } else {
      features = this.forward(split, count, index);
      if (cache.rows.length > 0) {
        for (let l = 0; l < features.length; l++) {
          const values = (await (features[l] as tf.Tensor2D).data()) as Float32Array;
          const size = (this.points[l] as ProbePoint).features;
          const rows = cache.rows[l] as Float32Array;
          for (let i = 0; i < count; i++) {
            rows.set(values.subarray(i * size, (i + 1) * size), index(i) * size);
          }
        }
        if (start + count >= split.count) cache.complete = true;
      }
    }
    const y = tf.tensor1d(labels, 'int32');
    return { features, labels, y, dispose: () => tf.dispose([...features, y]) };
  }

  private forward(split: Split, count: number, index: (i: number) => number): tf.Tensor2D[] {
    const px = this.pixels;
    for (let i = 0; i < count; i++) {
      const from = index(i) * px;
      this.bytes.set(split.images.subarray(from, from + px), i * px);
    }
    const inputs = normalizeInto(
      this.bytes.subarray(0, count * px),
      this.stats,
      this.inputs.subarray(0, count * px),
    );
    this.forwardCalls++;
    return tf.tidy(() => {
      const x = tf.tensor4d(inputs, [count, ...this.inputShape]);
      const out = this.model.apply(x, { training: false }) as tf.Tensor | tf.Tensor[];
      const outputs = Array.isArray(out) ? out : [out];
      return outputs.map((t, l) => {
        const point = this.points[l] as ProbePoint;
        let y = t as tf.Tensor4D;
        for (let r = 0; r < point.extraPoolings; r++) y = tf.maxPool(y, 2, 2, 'valid');
        return tf.reshape(y, [count, point.features]) as tf.Tensor2D;
      });
    });
  }
}

/** What phase 3 accumulates for one head over the last test pass. */
interface Phase3 {
  readonly kernel: Float32Array;
  readonly shape: HeadShape;
  readonly correlation: CorrelationAccumulator;
  readonly ablation: AblationAccumulator;
}

/** A dense head `[P * F] -> C` with bias, its SGD state and its epoch history. */
class Head {
  readonly history: HeadEpochMetrics[] = [];
  private readonly kernel: tf.Variable;
  private readonly bias: tf.Variable;
  private readonly optimizer: SgdOptimizer;
  private lossSum: tf.Scalar | null = null;
  private examples = 0;

  constructor(
    readonly point: ProbePoint,
    private readonly labels: number,
    seed: number,
    opts: ResolvedProbeOptions,
  ) {
    // Keras' Dense defaults: Glorot-uniform kernel, zero bias.
    this.kernel = tf.tidy(() =>
      tf.variable(
        tf.initializers.glorotUniform({ seed }).apply([point.features, labels]),
        true,
        undefined,
        'float32',
      ),
    );
    this.bias = tf.tidy(() => tf.variable(tf.zeros([labels]), true, undefined, 'float32'));
    this.optimizer = new SgdOptimizer(
      [
        { name: `${point.layer}/kernel`, variable: this.kernel },
        { name: `${point.layer}/bias`, variable: this.bias },
      ],
      { momentum: opts.momentum, weightDecay: opts.weightDecay, nesterov: false },
    );
  }

  startEpoch(): void {
    tf.dispose(this.lossSum ?? []);
    this.lossSum = tf.scalar(0);
    this.examples = 0;
  }

  /**
   * One SGD step on the mean softmax cross-entropy of a batch. The gradient is written out
   * (d loss / d logits = (softmax - onehot) / n), so no tape over the frozen network is kept.
   */
  step(features: tf.Tensor2D, y: tf.Tensor1D, learningRate: number): void {
    const n = features.shape[0];
    const next = tf.tidy(() => {
      const logits = tf.add(tf.matMul(features, this.kernel), this.bias);
      const logProbs = tf.logSoftmax(logits);
      const oneHot = tf.oneHot(y, this.labels);
      const batchLoss = tf.neg(tf.sum(tf.mul(oneHot, logProbs)));
      const dLogits = tf.div(tf.sub(tf.exp(logProbs), oneHot), n);
      this.optimizer.step(
        new Map([
          [`${this.point.layer}/kernel`, tf.matMul(features, dLogits, true, false)],
          [`${this.point.layer}/bias`, tf.sum(dLogits, 0)],
        ]),
        learningRate,
      );
      return tf.add(this.lossSum ?? tf.scalar(0), batchLoss) as tf.Scalar;
    });
    tf.dispose(this.lossSum ?? []);
    this.lossSum = next;
    this.examples += n;
  }

  async endEpoch(epoch: number, learningRate: number, testSR: number): Promise<HeadEpochMetrics> {
    const sum = this.lossSum ? ((await this.lossSum.data())[0] as number) : 0;
    tf.dispose(this.lossSum ?? []);
    this.lossSum = null;
    const trainLoss = sum / Math.max(1, this.examples);
    if (!Number.isFinite(trainLoss)) {
      throw new Error(
        `the head of ${this.point.layer} diverged: train loss ${trainLoss} in head epoch ${epoch + 1}; lower the learning rate`,
      );
    }
    const metrics = { epoch: epoch + 1, learningRate, trainLoss, testSR };
    this.history.push(metrics);
    return metrics;
  }

  /** SR after the last epoch (0 before any). */
  successRate(): number {
    return this.history[this.history.length - 1]?.testSR ?? 0;
  }

  /** `[n, C]` logits of a batch, with the trained kernel or `kernel` instead; bias included. */
  async logits(features: tf.Tensor2D, kernel?: tf.Tensor2D): Promise<Float32Array> {
    const logits = tf.tidy(() => tf.add(tf.matMul(features, kernel ?? this.kernel), this.bias));
    try {
      return Float32Array.from((await logits.data()) as Float32Array);
    } finally {
      logits.dispose();
    }
  }

  /** Accumulators for phase 3 over the current (final) kernel. */
  async phase3(): Promise<Phase3> {
    const kernel = Float32Array.from((await this.kernel.data()) as Float32Array);
    const shape = {
      positions: this.point.positions,
      filters: this.point.filters,
      labels: this.labels,
    };
    return {
      kernel,
      shape,
      correlation: new CorrelationAccumulator(kernel, shape),
      ablation: new AblationAccumulator(kernel, shape),
    };
  }

  async readBias(): Promise<Float32Array> {
    return Float32Array.from((await this.bias.data()) as Float32Array);
  }

  dispose(): void {
    tf.dispose(this.lossSum ?? []);
    this.lossSum = null;
    this.optimizer.dispose();
    this.kernel.dispose();
    this.bias.dispose();
  }
}
