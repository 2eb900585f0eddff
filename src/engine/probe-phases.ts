import * as tf from '@tensorflow/tfjs';
import {
  afccWeights,
  layerMetrics,
  type HeadShape,
  type LayerAggregates,
} from '../analysis/index.js';
import type { ResolvedProbeOptions } from '../contract/probe-options.js';
import type {
  AfccSummary,
  FilterSummary,
  HeadEpochMetrics,
  ProbeEvent,
} from '../contract/probe-events.js';
import { learningRateAt } from '../contract/schedule.js';
import { Random } from '../data/random.js';
import type { Split } from '../data/types.js';
import type { BatchClock, CancelSignal } from './cancel.js';
import type { Head, Phase3 } from './probe-head.js';
import type { FrozenFeatures } from './probe-features.js';
import type { ProbePoint } from '../contract/probe-points.js';

/**
 * The steps of a probe (probe.ts runs them in order): phase 2 trains the heads, phase 3 analyses
 * each layer's matrices, AFCC evaluates the masked heads, and the report emits the results.
 * Each loop checks the cancel signal and ticks the batch clock between batches.
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

/** What the phases share while one probe runs. */
export interface ProbeRun {
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
export async function trainHeads(run: ProbeRun): Promise<Phase3[] | null> {
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
export interface Analysed {
  readonly head: Head;
  readonly kernel: Float32Array;
  readonly shape: HeadShape;
  readonly matrices: readonly Float32Array[];
  readonly summaries: FilterSummary[];
  readonly aggregates: LayerAggregates;
  readonly masked: ReturnType<typeof afccWeights>;
}

export function analyse(head: Head, phase3: Phase3, opts: ResolvedProbeOptions): Analysed {
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
export async function afccPass(
  run: ProbeRun,
  analysed: readonly Analysed[],
): Promise<number[] | null> {
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
export async function report(
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
