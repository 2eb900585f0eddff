import * as tf from '@tensorflow/tfjs';
import { channelStats } from '../data/normalize.js';
import { Random } from '../data/random.js';
import { firstExamples } from '../data/split.js';
import type { ChannelStats, LoadedDataset, Split } from '../data/types.js';
import type { CheckpointMeta } from '../contract/checkpoint.js';
import { checkResumable, decodeCheckpoint, encodeCheckpoint } from '../contract/checkpoint.js';
import {
  buildModel,
  modelVariables,
  readVariables,
  setDropoutSeed,
  writeVariables,
} from './model.js';
import { BatchClock, batchesAfterCancel, type CancelSignal } from './cancel.js';
import { SgdOptimizer } from './optimizer.js';
import type { EnginePort } from './port.js';
import type { TrainHyperparameters } from '../contract/hyperparameters.js';
import { Batcher, evaluate, trainStep } from './train-step.js';
import type { EpochMetrics, TrainJobSpec } from '../contract/protocol.js';
import { MessageType, validateMessage } from '../contract/protocol.js';
import { learningRateAt } from '../contract/schedule.js';

/**
 * Phase 1 of METHOD.md: train the whole network on the training split, with per-epoch metrics
 * and a checkpoint after every epoch from which a run resumes bit-identically on the same backend.
 *
 * Everything random after initialisation (shuffle order, crops and flips, dropout masks) is
 * drawn from one `Random` whose state is checkpointed; batch norm running statistics and SGD
 * momentum buffers are checkpointed with the weights; the learning rate is a pure function of
 * the epoch. Together that is the whole state of a run.
 */

/** Training examples a run uses: the first `maxTrainExamples` of the split, or all of it. */
export function trainExampleCount(hp: TrainHyperparameters, dataset: LoadedDataset): number {
  return Math.min(dataset.train.count, hp.maxTrainExamples ?? dataset.train.count);
}

export interface TrainOptions {
  /** Bytes of an earlier `checkpoint` message of the same job: continue after its epoch. */
  readonly resumeFrom?: Uint8Array | null;
  /** Checked between batches; when aborted, training stops and `cancelled` is posted. */
  readonly signal?: CancelSignal;
  /** Least time between two `step` messages, ms, besides each epoch's last batch; default 1000 (0: every batch). */
  readonly stepIntervalMs?: number;
  /** Reported in `started`; defaults to tfjs' current backend name. */
  readonly backend?: { readonly name: string; readonly device: string; readonly threads: number };
}

export interface TrainResult {
  readonly status: 'finished' | 'cancelled';
  /** Epochs completed, including those of the checkpoint resumed from. */
  readonly epochs: number;
  readonly history: readonly EpochMetrics[];
}

/**
 * Trains `job.architecture` on `dataset`, posting `started`, `step`, `epoch`, `checkpoint` and
 * finally `finished` or `cancelled` to `port` (see PROTOCOL.md). Errors are thrown, not posted:
 * the caller reports them as `failed` (an invalid job throws the `ProtocolError` a `start`
 * message would get; a checkpoint of another job, a dataset that does not fit the architecture
 * or a non-finite loss throw with what differs). Leaves `tf.memory().numTensors` as it found it.
 *
 * Inputs are pixel bytes / 255 standardised per channel with the statistics of the training
 * examples used; batches keep PyTorch's default of a smaller last batch.
 */
export async function train(
  job: TrainJobSpec,
  dataset: LoadedDataset,
  port: EnginePort,
  options: TrainOptions = {},
): Promise<TrainResult> {
  // The same checks as a `start` message gets, for callers that do not come through a port.
  validateMessage({ type: MessageType.Start, job, resumeFrom: null });
  const spec = job.architecture;
  checkDatasetFits(job, dataset);
  const hp = job.hyperparameters;
  const trainCount = trainExampleCount(hp, dataset);
  const trainSplit: Split = firstExamples(dataset.train, trainCount);
  const resume = options.resumeFrom ? decodeCheckpoint(options.resumeFrom) : null;
  const stats: ChannelStats = resume
    ? resume.meta.normalization
    : channelStats(trainSplit, dataset.inputShape);
  const meta: Omit<CheckpointMeta, 'history'> = {
    architecture: spec,
    dataset: job.dataset,
    hyperparameters: hp,
    normalization: stats,
  };
  if (resume) checkResumable(resume.meta, meta);

  const model = buildModel(spec, hp.seed);
  const variables = modelVariables(model);
  const trainable = variables.filter((v) => v.trainable);
  const optimizer = new SgdOptimizer(trainable, hp);
  try {
    let rng = new Random(hp.seed);
    const history: EpochMetrics[] = [];
    if (resume) {
      writeVariables(model, resume.weights);
      optimizer.setState(resume.momentum);
      rng = Random.fromState(resume.rngState);
      history.push(...resume.meta.history);
    }
    const backend = options.backend ?? { name: tf.getBackend(), device: 'unknown', threads: 0 };
    port.post({
      type: MessageType.Started,
      backend: backend.name,
      device: backend.device,
      threads: backend.threads,
      trainExamples: trainCount,
      testExamples: dataset.test.count,
      resumedFromEpoch: resume ? resume.epoch : null,
    });

    const clock = new BatchClock();
    const epochs: EpochRun = {
      model,
      trainable,
      optimizer,
      batches: new Batcher(dataset.inputShape, hp.batchSize, stats, hp.augmentation),
      train: trainSplit,
      test: dataset.test,
      hp,
      rng,
      port,
      signal: options.signal,
      clock,
      steps: { intervalMs: options.stepIntervalMs ?? 1000, last: performance.now() },
    };
    for (let e = history.length; e < hp.epochs; e++) {
      const metrics = await trainEpoch(epochs, e);
      if (!metrics) {
        port.post({
          type: MessageType.Cancelled,
          epoch: history.length,
          ...batchesAfterCancel(clock, options.signal),
        });
        return { status: 'cancelled', epochs: history.length, history };
      }
      history.push(metrics);
      port.post({ type: MessageType.Epoch, epoch: e + 1, metrics });
      const bytes = encodeCheckpoint({
        epoch: e + 1,
        rngState: rng.getState(),
        meta: { ...meta, history },
        weights: await readVariables(model),
        momentum: await optimizer.getState(),
      });
      port.post({ type: MessageType.Checkpoint, epoch: e + 1, bytes });
    }

    const last = history[history.length - 1];
    if (!last) throw new Error('training finished without any epoch (epochs must be >= 1)');
    // reduce without a seed keeps the first of equal values: the earliest best epoch.
    const best = history.reduce((a, m) => (m.testSR > a.testSR ? m : a));
    port.post({
      type: MessageType.Finished,
      epochs: history.length,
      finalTestSR: last.testSR,
      finalTestLoss: last.testLoss,
      bestTestSR: best.testSR,
      bestEpoch: best.epoch,
      wallSeconds: history.reduce((s, m) => s + m.wallSeconds, 0),
    });
    return { status: 'finished', epochs: history.length, history };
  } finally {
    model.dispose();
    optimizer.dispose();
  }
}

/** What one epoch needs; `rng` carries on from epoch to epoch (it is checkpointed). */
interface EpochRun {
  readonly model: tf.LayersModel;
  readonly trainable: ReturnType<typeof modelVariables>;
  readonly optimizer: SgdOptimizer;
  readonly batches: Batcher;
  readonly train: Split;
  readonly test: Split;
  readonly hp: TrainHyperparameters;
  readonly rng: Random;
  readonly port: EnginePort;
  readonly signal: CancelSignal | undefined;
  readonly clock: BatchClock;
  /** `step` messages: at most one per `intervalMs`; `last` is when the last one went. */
  readonly steps: { readonly intervalMs: number; last: number };
}

/**
 * Trains 0-based epoch `e` over every batch, then measures the test split: the epoch's metrics,
 * or null when the signal aborted between two batches (nothing of the epoch is kept).
 */
async function trainEpoch(run: EpochRun, e: number): Promise<EpochMetrics | null> {
  const { model, hp, rng, port, clock } = run;
  const started = performance.now();
  const learningRate = learningRateAt(hp.schedule, hp.learningRate, e, hp.epochs);
  const count = run.train.count;
  const order = rng.shuffle(Int32Array.from({ length: count }, (_, i) => i));
  const batchCount = Math.ceil(count / hp.batchSize);
  let lossSum: tf.Scalar = tf.scalar(0);
  let correctSum: tf.Scalar = tf.scalar(0, 'int32');
  try {
    for (let b = 0; b < batchCount; b++) {
      if (run.signal?.aborted) return null;
      const batch = run.batches.fill(run.train, order, b * hp.batchSize, rng);
      setDropoutSeed(model, rng.int(0x100000000));
      const { loss, correct } = trainStep(model, run.trainable, run.optimizer, batch, learningRate);
      try {
        const nextLoss = tf.tidy(() => tf.add(lossSum, tf.mul(loss, batch.count)));
        const nextCorrect = tf.tidy(() => tf.add(correctSum, correct));
        tf.dispose([lossSum, correctSum]);
        [lossSum, correctSum] = [nextLoss as tf.Scalar, nextCorrect as tf.Scalar];
        const now = performance.now();
        // Reading the loss waits for the device, so only when a message is due: once an
        // interval, and at each epoch's last batch so that every epoch has a stored step.
        if (now - run.steps.last >= run.steps.intervalMs || b === batchCount - 1) {
          run.steps.last = now;
          const value = (await loss.data())[0] as number;
          if (!Number.isFinite(value)) throw divergence(e, b, value);
          port.post({
            type: MessageType.Step,
            epoch: e + 1,
            batch: b + 1,
            batches: batchCount,
            loss: value,
          });
        }
      } finally {
        tf.dispose([loss, correct]);
      }
      clock.tick();
      // Lets a `cancel` message (an event on this thread) arrive between batches.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const trainLoss = ((await lossSum.data())[0] as number) / count;
    const trainSR = ((await correctSum.data())[0] as number) / count;
    if (!Number.isFinite(trainLoss)) throw divergence(e, batchCount - 1, trainLoss);
    const test = await evaluate(model, run.test, run.batches, run.signal, clock);
    if (!test) return null;
    if (!Number.isFinite(test.loss)) throw divergence(e, batchCount - 1, test.loss);
    return {
      epoch: e + 1,
      trainLoss,
      trainSR,
      testLoss: test.loss,
      testSR: test.sr,
      learningRate,
      wallSeconds: (performance.now() - started) / 1000,
    };
  } finally {
    tf.dispose([lossSum, correctSum]);
  }
}

function divergence(epoch: number, batch: number, loss: number): Error {
  return new Error(
    `training diverged: loss is ${loss} in epoch ${epoch + 1}, batch ${batch + 1}; lower the learning rate`,
  );
}

function checkDatasetFits(job: TrainJobSpec, dataset: LoadedDataset): void {
  const spec = job.architecture;
  if (spec.inputShape.join('x') !== dataset.inputShape.join('x')) {
    throw new Error(
      `architecture ${spec.name} takes inputs of shape [${spec.inputShape.join(', ')}], dataset ${dataset.name} has [${dataset.inputShape.join(', ')}]`,
    );
  }
  if (spec.labels !== dataset.labelNames.length) {
    throw new Error(
      `architecture ${spec.name} has ${spec.labels} labels, dataset ${dataset.name} has ${dataset.labelNames.length}`,
    );
  }
  if (dataset.train.count === 0 || dataset.test.count === 0) {
    throw new Error(
      `dataset ${dataset.name} has ${dataset.train.count} training and ${dataset.test.count} test examples; both must be at least 1`,
    );
  }
}
