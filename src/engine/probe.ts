import * as tf from '@tensorflow/tfjs';
import type { ProbePlan, ResolvedProbeOptions } from '../contract/probe-options.js';
import type { ProbeEvent } from '../contract/probe-events.js';
import { Random } from '../data/random.js';
import { firstExamples } from '../data/split.js';
import type { LoadedDataset } from '../data/types.js';
import { BatchClock, batchesAfterCancel, type CancelSignal } from './cancel.js';
import { decodeCheckpoint } from '../contract/checkpoint.js';
import { buildModel, buildProbeModel, writeVariables } from './model.js';
import { Head } from './probe-head.js';
import { featureCacheBytes, FrozenFeatures } from './probe-features.js';
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
