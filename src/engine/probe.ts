import * as tf from '@tensorflow/tfjs';
import type { ProbePlan, ResolvedProbeOptions } from '../contract/probe-options.js';
import type { ProbeEvent, ProbeTimings } from '../contract/probe-events.js';
import { Random } from '../data/random.js';
import { firstExamples } from '../data/split.js';
import type { LoadedDataset } from '../data/types.js';
import { BatchClock, batchesAfterCancel, type CancelSignal } from './cancel.js';
import { decodeCheckpoint } from '../contract/checkpoint.js';
import { buildModel, buildProbeModel, writeVariables } from './model.js';
import { Head } from './probe-head.js';
import { threadsFromEnv } from './wasm-threads.js';
import { openFeatureStore } from './feature-store.js';
import { featureRowWidth, FrozenFeatures } from './probe-features.js';
import type { FrozenRuntimeChoice } from '../contract/frozen-runtime.js';
import { openFrozenNetwork, type OpenedFrozenNetwork } from './frozen-runtime.js';
import {
  afccPass,
  analyse,
  report,
  trainHeads,
  type LayerProbeResult,
  type ProbeRun,
} from './probe-phases.js';

export type { LayerProbeResult } from './probe-phases.js';

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
  readonly timings: ProbeTimings;
}

/** Where the engine thread keeps features that do not fit in memory (from the environment). */
export interface ProbeEnvironment {
  /** Disk budget of the feature spill, bytes; 0 never spills. */
  readonly diskBytes: number;
  /** Folder of the spill files (FILTERSCOPE_HOME/probe-features). */
  readonly directory: string;
  /** Spill float16 (default) or float32. */
  readonly float16: boolean;
  /** What runs the frozen pass (FILTERSCOPE_FROZEN_RUNTIME); default auto. */
  readonly frozenRuntime?: FrozenRuntimeChoice;
  /** Threads of a native frozen runtime; default the cores (FILTERSCOPE_THREADS). */
  readonly threads?: number;
}

/** No spill: features that do not fit in memory are recomputed every epoch. */
export const NO_SPILL: ProbeEnvironment = { diskBytes: 0, directory: '', float16: true };

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
  environment: ProbeEnvironment = NO_SPILL,
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
  const backend = tf.getBackend();
  const store = openFeatureStore(
    featureRowWidth(points),
    { train: trainSplit.count, test: testSplit.count },
    {
      memoryBytes: opts.featureCacheBytes,
      diskBytes: environment.diskBytes,
      directory: environment.directory,
      float16: environment.float16,
    },
  );
  const model = buildModel(spec, 0);
  const heads: Head[][] = [];
  let opened: OpenedFrozenNetwork | null = null;
  try {
    writeVariables(model, saved.weights);
    opened = await openFrozenNetwork(
      environment.frozenRuntime ?? 'auto',
      backend,
      spec,
      saved.weights,
      points,
      environment.threads ?? threadsFromEnv(),
      () =>
        buildProbeModel(
          model,
          spec,
          points.map((p) => p.source),
        ),
    );
    const frozenPath = opened.path;
    const frozen = new FrozenFeatures(
      opened.network,
      points,
      dataset.inputShape,
      saved.meta.normalization,
      opts.batchSize,
      store,
      (split, done, total, seconds) =>
        onEvent({
          type: 'features',
          split,
          done,
          total,
          imagesPerSecond: frozen.images / Math.max(seconds, 1e-9),
        }),
    );
    // Replicate 0 takes the seeds a single head per layer always took; the others come after.
    const seeds = new Random(opts.seed ^ 0x4ead5eed);
    for (let r = 0; r < opts.replicates; r++)
      points.forEach((point, l) => {
        (heads[l] ??= []).push(new Head(point, spec.labels, seeds.int(0x7fffffff), opts));
      });
    onEvent({
      type: 'started',
      probePoints: points,
      trainExamples: trainSplit.count,
      testExamples: testSplit.count,
      featuresCached: store.kind !== 'none',
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
      phase3Seconds: 0,
    };
    const seconds = { heads: 0, analyse: 0, afcc: 0 };
    const end = (status: 'finished' | 'cancelled', layers: LayerProbeResult[]): ProbeResult => ({
      status,
      options: opts,
      layers,
      forwardCalls: frozen.forwardCalls,
      featuresCached: store.kind !== 'none',
      trainExamples: trainSplit.count,
      testExamples: testSplit.count,
      backend,
      wallSeconds: (performance.now() - started) / 1000,
      ...(status === 'cancelled' ? batchesAfterCancel(run.clock, signal) : {}),
      timings: {
        featuresSeconds: frozen.seconds,
        headsSeconds: Math.max(0, seconds.heads - frozen.seconds - run.phase3Seconds),
        phase3Seconds: run.phase3Seconds + seconds.analyse,
        afccSeconds: seconds.afcc,
        frozenPath,
        featureStore: store.kind,
        featureImagesPerSecond: frozen.images / Math.max(frozen.seconds, 1e-9),
      },
    });

    const phase2Start = performance.now();
    const phase3 = await trainHeads(run);
    seconds.heads = (performance.now() - phase2Start) / 1000;
    if (!phase3) return end('cancelled', []);
    const analyseStart = performance.now();
    const analysed = heads.map((replicas, l) => analyse(replicas, phase3[l]!, opts));
    seconds.analyse = (performance.now() - analyseStart) / 1000;
    for (const a of analysed) {
      onEvent({
        type: 'layerSR',
        layer: a.head.point.layer,
        successRate: a.replicates.successRate.mean!,
        history: a.head.history,
      });
    }
    const afccStart = performance.now();
    const maskedCorrect = await afccPass(run, analysed);
    seconds.afcc = (performance.now() - afccStart) / 1000;
    if (!maskedCorrect) return end('cancelled', []);
    return end('finished', await report(run, analysed, maskedCorrect));
  } finally {
    for (const head of heads.flat()) head.dispose();
    model.dispose();
    store.close();
    await opened?.release();
  }
}
