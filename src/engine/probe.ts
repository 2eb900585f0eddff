import * as tf from '@tensorflow/tfjs';
import {
  afccWeights,
  layerMetrics,
  type HeadShape,
  type LayerAggregates,
} from '../analysis/index.js';
import type { ProbePlan, ResolvedProbeOptions } from '../contract/probe-options.js';
import type { ProbePoint } from '../contract/probe-points.js';
import type {
  AfccSummary,
  FilterSummary,
  HeadEpochMetrics,
  ProbeEvent,
} from '../contract/probe-events.js';
import { learningRateAt } from '../contract/schedule.js';
import { Random } from '../data/random.js';
import type { LoadedDataset, Split } from '../data/types.js';
import { BatchClock, batchesAfterCancel, type CancelSignal } from './cancel.js';
import { decodeCheckpoint } from './checkpoint.js';
import { buildModel, buildProbeModel, writeVariables } from './model.js';
import { Head, type Phase3 } from './probe-head.js';
import { featureCacheBytes, FrozenFeatures } from './probe-features.js';

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
 * @param plan the options and probe points (`planProbe`), used as they are
 * @param dataset the dataset the checkpoint was trained on (same input shape and labels)
 * @param onEvent progress, plain JSON
 * @param signal checked between batches; when aborted, returns with status `cancelled`
 */
export async function probe(
  checkpoint: Uint8Array,
  dataset: LoadedDataset,
  plan: ProbePlan,
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
  const { options: opts, points } = plan;
  const trainSplit = firstExamples(dataset.train, opts.maxTrainExamples);
  const testSplit = firstExamples(dataset.test, opts.maxTestExamples);
  if (trainSplit.count === 0 || testSplit.count === 0) {
    throw new Error(
      `dataset ${dataset.name} has ${trainSplit.count} training and ${testSplit.count} test examples to probe with; both must be at least 1`,
    );
  }
  const cached =
    featureCacheBytes(points, trainSplit.count + testSplit.count) <= opts.featureCacheBytes;
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
    for (const point of points)
      heads.push(new Head(point, spec.labels, seeds.int(0x7fffffff), opts));
    onEvent({
      type: 'started',
      probePoints: points,
      trainExamples: trainSplit.count,
      testExamples: testSplit.count,
      featuresCached: cached,
      backend,
    });
    const run: ProbeRun = {
      frozen,
      heads,
      train: trainSplit,
      test: testSplit,
      labels: spec.labels,
      opts,
      signal,
      clock: new BatchClock(),
      onEvent,
    };
    const end = (status: 'finished' | 'cancelled', layers: LayerProbeResult[]): ProbeResult => ({
      status,
      options: opts,
      layers,
      forwardCalls: frozen.forwardCalls,
      featuresCached: cached,
      trainExamples: trainSplit.count,
      testExamples: testSplit.count,
      backend,
      wallSeconds: (performance.now() - started) / 1000,
      ...(status === 'cancelled' ? batchesAfterCancel(run.clock, signal) : {}),
    });

    const phase3 = await trainHeads(run);
    if (!phase3) return end('cancelled', []);
    for (const head of heads) {
      onEvent({
        type: 'layerSR',
        layer: head.point.layer,
        successRate: head.successRate(),
        history: head.history,
      });
    }
    const analysed = heads.map((head, i) => analyse(head, phase3[i]!, opts));
    const maskedCorrect = await afccPass(run, analysed);
    if (!maskedCorrect) return end('cancelled', []);
    return end('finished', await report(run, analysed, maskedCorrect));
  } finally {
    for (const head of heads) head.dispose();
    model.dispose();
  }
}

/** What the phases share while one probe runs. */
interface ProbeRun {
  readonly frozen: FrozenFeatures;
  readonly heads: readonly Head[];
  readonly train: Split;
  readonly test: Split;
  readonly labels: number;
  readonly opts: ResolvedProbeOptions;
  readonly signal: CancelSignal | undefined;
  readonly clock: BatchClock;
  readonly onEvent: (event: ProbeEvent) => void;
}

/**
 * Phase 2: every head, one shared pass through the frozen network per batch, `headEpochs`
 * times; the last test pass also accumulates phase 3's matrices. Null when cancelled.
 */
async function trainHeads(run: ProbeRun): Promise<Phase3[] | null> {
  const { frozen, heads, opts, signal, clock } = run;
  const rng = new Random(opts.seed);
  let phase3: Phase3[] = [];
  for (let e = 0; e < opts.headEpochs; e++) {
    const lr = learningRateAt({ kind: 'cosine' }, opts.learningRate, e, opts.headEpochs);
    const order = rng.shuffle(Int32Array.from({ length: run.train.count }, (_, i) => i));
    for (const head of heads) head.startEpoch();
    for (let start = 0; start < run.train.count; start += opts.batchSize) {
      if (signal?.aborted) return null;
      const batch = await frozen.batch('train', run.train, order, start);
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
    for (let start = 0; start < run.test.count; start += opts.batchSize) {
      if (signal?.aborted) return null;
      const batch = await frozen.batch('test', run.test, null, start);
      try {
        for (let i = 0; i < heads.length; i++) {
          const features = batch.features[i] as tf.Tensor2D;
          const logits = await (heads[i] as Head).logits(features);
          correct[i]! += countCorrect(logits, batch.labels, run.labels);
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
      const metrics = await head.endEpoch(e, lr, correct[i]! / run.test.count);
      run.onEvent({
        type: 'headEpoch',
        layer: head.point.layer,
        epochs: opts.headEpochs,
        ...metrics,
      });
    }
  }
  return phase3;
}

/** Phase 3 of one layer, from its accumulated matrices: every filter's metrics and AFCC's mask. */
interface Analysed {
  readonly head: Head;
  readonly kernel: Float32Array;
  readonly shape: HeadShape;
  readonly matrices: readonly Float32Array[];
  readonly summaries: FilterSummary[];
  readonly aggregates: LayerAggregates;
  readonly masked: ReturnType<typeof afccWeights>;
}

function analyse(head: Head, phase3: Phase3, opts: ResolvedProbeOptions): Analysed {
  const { correlation, ablation, kernel, shape } = phase3;
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
}

/** AFCC: every layer's masked head on the test split, in one pass. Null when cancelled. */
async function afccPass(run: ProbeRun, analysed: readonly Analysed[]): Promise<number[] | null> {
  const maskedCorrect = new Array<number>(analysed.length).fill(0);
  const maskedKernels = analysed.map((a) =>
    tf.tensor2d(a.masked.weights, [a.shape.positions * a.shape.filters, run.labels]),
  );
  try {
    for (let start = 0; start < run.test.count; start += run.opts.batchSize) {
      if (run.signal?.aborted) return null;
      const batch = await run.frozen.batch('test', run.test, null, start);
      try {
        for (let i = 0; i < analysed.length; i++) {
          const features = batch.features[i] as tf.Tensor2D;
          const logits = await analysed[i]!.head.logits(features, maskedKernels[i]);
          maskedCorrect[i]! += countCorrect(logits, batch.labels, run.labels);
        }
      } finally {
        batch.dispose();
      }
      run.clock.tick();
      await nextTick();
    }
  } finally {
    tf.dispose(maskedKernels);
  }
  return maskedCorrect;
}

/** Emits every layer's `filters` chunks and `layerDone`, and returns the layers' results. */
async function report(
  run: ProbeRun,
  analysed: readonly Analysed[],
  maskedCorrect: readonly number[],
): Promise<LayerProbeResult[]> {
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
      srAfter: maskedCorrect[i]! / run.test.count,
    };
    for (let k = 0; k < a.summaries.length; k += run.opts.filtersPerEvent) {
      run.onEvent({
        type: 'filters',
        layer: point.layer,
        filters: a.summaries.slice(k, k + run.opts.filtersPerEvent),
      });
    }
    run.onEvent({
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
  return layers;
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
