import * as tf from '@tensorflow/tfjs';
import {
  afccWeights,
  layerMetrics,
  type HeadShape,
  type LayerAggregates,
} from '../analysis/index.js';
import type { ResolvedProbeOptions } from '../contract/probe-options.js';
import type { ProbePoint } from '../contract/probe-points.js';
import type {
  AfccSummary,
  FilterSummary,
  HeadEpochMetrics,
  ProbeEvent,
  ReplicateSummary,
  Spread,
} from '../contract/probe-events.js';
import { learningRateAt } from '../contract/schedule.js';
import { Random } from '../data/random.js';
import type { Split } from '../data/types.js';
import type { BatchClock, CancelSignal } from './cancel.js';
import type { Head, Phase3 } from './probe-head.js';
import type { FrozenFeatures } from './probe-features.js';

/**
 * The steps of a probe (probe.ts runs them in order): phase 2 trains every head (each layer's
 * replicates from their own seeds, fed by one pass of the frozen network per batch), phase 3
 * analyses each layer's matrices, AFCC evaluates the first replicate's masked heads, and the
 * report emits the results. Each loop checks the cancel signal and ticks the batch clock
 * between batches.
 */

/** Everything phases 2 and 3 found for one layer. */
export interface LayerProbeResult {
  readonly layer: string;
  readonly probePoint: ProbePoint;
  /** SR(l): the mean over replicates of the heads' test SR after their last epoch, in [0, 1]. */
  readonly successRate: number;
  /** Of the first replicate. */
  readonly history: readonly HeadEpochMetrics[];
  /** The first replicate's head: kernel `[P * F, C]` (flat input index p * F + k), bias `[C]`. */
  readonly head: { readonly kernel: Float32Array; readonly bias: Float32Array };
  readonly shape: HeadShape;
  /** F raw correlation matrices of the first replicate, `[C, C]` float32 each. */
  readonly matrices: readonly Float32Array[];
  readonly filters: readonly FilterSummary[];
  /** Of the first replicate. */
  readonly aggregates: LayerAggregates;
  readonly replicates: ReplicateSummary;
  readonly afcc: AfccSummary;
}

/** What the phases share while one probe runs. */
export interface ProbeRun {
  readonly frozen: FrozenFeatures;
  /** `heads[l][r]`: layer l's replicate r. */
  readonly heads: readonly (readonly Head[])[];
  readonly train: Split;
  readonly test: Split;
  readonly labels: number;
  readonly opts: ResolvedProbeOptions;
  readonly signal: CancelSignal | undefined;
  readonly clock: BatchClock;
  readonly onEvent: (event: ProbeEvent) => void;
  /** Seconds spent accumulating phase 3 (during the last test pass). */
  phase3Seconds: number;
}

/**
 * Phase 2: every head, one shared pass through the frozen network per batch, `headEpochs`
 * times; the last test pass also accumulates phase 3's matrices (`phase3[l][r]`; ablation for
 * the first replicate only). Null when cancelled.
 */
export async function trainHeads(run: ProbeRun): Promise<Phase3[][] | null> {
  const { frozen, heads, opts, signal, clock } = run;
  const rng = new Random(opts.seed);
  let phase3: Phase3[][] = [];
  for (let e = 0; e < opts.headEpochs; e++) {
    const lr = learningRateAt({ kind: 'cosine' }, opts.learningRate, e, opts.headEpochs);
    const order = rng.shuffle(Int32Array.from({ length: run.train.count }, (_, i) => i));
    for (const head of heads.flat()) head.startEpoch();
    for (let start = 0; start < run.train.count; start += opts.batchSize) {
      if (signal?.aborted) return null;
      const batch = await frozen.batch('train', run.train, order, start);
      try {
        heads.forEach((replicas, l) =>
          replicas.forEach((head) => head.step(batch.features[l]!, batch.y, lr)),
        );
      } finally {
        batch.dispose();
      }
      clock.tick();
      await nextTick();
    }
    const last = e === opts.headEpochs - 1;
    if (last)
      phase3 = await Promise.all(
        heads.map((replicas) => Promise.all(replicas.map((h, r) => h.phase3(r === 0)))),
      );
    const correct = heads.map((replicas) => new Array<number>(replicas.length).fill(0));
    for (let start = 0; start < run.test.count; start += opts.batchSize) {
      if (signal?.aborted) return null;
      const batch = await frozen.batch('test', run.test, null, start);
      try {
        for (let l = 0; l < heads.length; l++) {
          const features = batch.features[l]!;
          const activations = last ? ((await features.data()) as Float32Array) : null;
          for (let r = 0; r < heads[l]!.length; r++) {
            const logits = await heads[l]![r]!.logits(features);
            correct[l]![r]! += countCorrect(logits, batch.labels, run.labels);
            if (activations) {
              const started = performance.now();
              const accumulators = phase3[l]![r]!;
              accumulators.correlation.add(activations, batch.labels);
              accumulators.ablation?.add(activations, logits, batch.labels);
              run.phase3Seconds += (performance.now() - started) / 1000;
            }
          }
        }
      } finally {
        batch.dispose();
      }
      clock.tick();
      await nextTick();
    }
    for (let l = 0; l < heads.length; l++) {
      for (let r = 0; r < heads[l]!.length; r++) {
        const head = heads[l]![r]!;
        const metrics = await head.endEpoch(e, lr, correct[l]![r]! / run.test.count);
        // The first replicate's history is the layer's; the others' epochs are not streamed.
        if (r === 0)
          run.onEvent({
            type: 'headEpoch',
            layer: head.point.layer,
            epochs: opts.headEpochs,
            ...metrics,
          });
      }
    }
  }
  return phase3;
}

/** Phase 3 of one layer: the first replicate's filters and AFCC mask, every replicate's spread. */
export interface Analysed {
  readonly head: Head;
  readonly kernel: Float32Array;
  readonly shape: HeadShape;
  readonly matrices: readonly Float32Array[];
  readonly summaries: FilterSummary[];
  readonly aggregates: LayerAggregates;
  readonly replicates: ReplicateSummary;
  readonly masked: ReturnType<typeof afccWeights>;
}

export function analyse(
  replicas: readonly Head[],
  phase3: readonly Phase3[],
  opts: ResolvedProbeOptions,
): Analysed {
  const { correlation, ablation, kernel, shape } = phase3[0]!;
  const matrices = correlation.finish();
  const ablated = ablation!.finish();
  const { filters, aggregates } = layerMetrics(matrices, opts.metrics);
  const summaries = filters.map((f, k): FilterSummary => ({
    index: k,
    matrix: Array.from(matrices[k]!),
    scale: f.scale,
    silent: f.silent,
    preferredLabel: f.preferredLabel,
    preference: f.preference,
    clusters: f.clusters,
    signal: f.signal,
    noise: f.noise,
    snr: f.snr,
    noiseFree: f.noiseFree,
    ablation: ablated.ablation[k]!,
  }));
  const masked = afccWeights(
    kernel,
    filters.map((f) => f.clusters),
    shape,
  );
  const each = [
    aggregates,
    ...phase3.slice(1).map((p) => layerMetrics(p.correlation.finish(), opts.metrics).aggregates),
  ];
  const replicates: ReplicateSummary = {
    replicates: replicas.length,
    successRate: spread(replicas.map((h) => h.successRate())),
    snr: spread(each.map((a) => a.snr)),
    meanNoise: spread(each.map((a) => a.meanNoise)),
    meanClusterSize: spread(each.map((a) => a.meanClusterSize)),
    meanClustersPerFilter: spread(each.map((a) => a.meanClustersPerFilter)),
    clusteredFraction: spread(each.map((a) => a.fractionWithCluster)),
  };
  return {
    head: replicas[0]!,
    kernel,
    shape,
    matrices,
    summaries,
    aggregates,
    replicates,
    masked,
  };
}

/** Mean and sample standard deviation of the defined values (nulls are left out). */
export function spread(values: readonly (number | null)[]): Spread {
  const defined = values.filter((v): v is number => v !== null && Number.isFinite(v));
  if (defined.length === 0) return { mean: null, std: null, values: [...values] };
  const mean = defined.reduce((s, v) => s + v, 0) / defined.length;
  const std =
    defined.length < 2
      ? 0
      : Math.sqrt(defined.reduce((s, v) => s + (v - mean) ** 2, 0) / (defined.length - 1));
  return { mean, std, values: [...values] };
}

/** AFCC: every layer's masked first-replicate head on the test split, in one pass. Null when cancelled. */
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
          const logits = await analysed[i]!.head.logits(batch.features[i]!, maskedKernels[i]);
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
    const afcc: AfccSummary = {
      keptFraction: a.masked.keptFraction,
      kept: a.masked.kept,
      total: a.masked.total,
      // AFCC masks the first replicate's head: its own SR is the one before masking.
      srBefore: a.head.successRate(),
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
      replicates: a.replicates,
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
      successRate: a.replicates.successRate.mean!,
      history: a.head.history,
      head: { kernel: a.kernel, bias: await a.head.readBias() },
      shape: a.shape,
      matrices: a.matrices,
      filters: a.summaries,
      aggregates: a.aggregates,
      replicates: a.replicates,
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
