import * as tf from '@tensorflow/tfjs';
import type { Augmentation as CropFlip } from '../data/augment.js';
import { augmentBatch, augmentationDefault } from '../data/augment.js';
import { channelStats, normalizeInto } from '../data/normalize.js';
import { Random } from '../data/random.js';
import type { ChannelStats, LoadedDataset, Split } from '../data/types.js';
import type { CheckpointMeta } from './checkpoint.js';
import { decodeCheckpoint, encodeCheckpoint } from './checkpoint.js';
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
import type { Augmentation, TrainHyperparameters } from '../contract/hyperparameters.js';
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
  /** Least time between two `step` messages, ms; default 1000 (0: every batch). */
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
  const trainSplit: Split =
    trainCount === dataset.train.count ? dataset.train : firstExamples(dataset.train, trainCount);
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

    const batches = new Batcher(dataset.inputShape, hp.batchSize, stats, hp.augmentation);
    const stepInterval = options.stepIntervalMs ?? 1000;
    let lastStep = performance.now();
    const clock = new BatchClock();
    const cancelled = (): TrainResult => {
      port.post({
        type: MessageType.Cancelled,
        epoch: history.length,
        ...batchesAfterCancel(clock, options.signal),
      });
      return { status: 'cancelled', epochs: history.length, history };
    };

    for (let e = history.length; e < hp.epochs; e++) {
      const started = performance.now();
      const learningRate = learningRateAt(hp.schedule, hp.learningRate, e, hp.epochs);
      const order = rng.shuffle(Int32Array.from({ length: trainCount }, (_, i) => i));
      const batchCount = Math.ceil(trainCount / hp.batchSize);
      let lossSum: tf.Scalar = tf.scalar(0);
      let correctSum: tf.Scalar = tf.scalar(0, 'int32');
      try {
        for (let b = 0; b < batchCount; b++) {
          if (options.signal?.aborted) return cancelled();
          const batch = batches.fill(trainSplit, order, b * hp.batchSize, rng);
          setDropoutSeed(model, rng.int(0x100000000));
          const { loss, correct } = trainStep(model, trainable, optimizer, batch, learningRate);
          try {
            const nextLoss = tf.tidy(() => tf.add(lossSum, tf.mul(loss, batch.count)));
            const nextCorrect = tf.tidy(() => tf.add(correctSum, correct));
            tf.dispose([lossSum, correctSum]);
            [lossSum, correctSum] = [nextLoss as tf.Scalar, nextCorrect as tf.Scalar];
            const now = performance.now();
            // Reading the loss waits for the device, so only when a message is due.
            if (now - lastStep >= stepInterval) {
              lastStep = now;
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
        const trainLoss = ((await lossSum.data())[0] as number) / trainCount;
        const trainSR = ((await correctSum.data())[0] as number) / trainCount;
        if (!Number.isFinite(trainLoss)) throw divergence(e, batchCount - 1, trainLoss);
        const test = await evaluate(model, dataset.test, batches, options.signal, clock);
        if (!test) return cancelled();
        if (!Number.isFinite(test.loss)) throw divergence(e, batchCount - 1, test.loss);
        const metrics: EpochMetrics = {
          epoch: e + 1,
          trainLoss,
          trainSR,
          testLoss: test.loss,
          testSR: test.sr,
          learningRate,
          wallSeconds: (performance.now() - started) / 1000,
        };
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
      } finally {
        tf.dispose([lossSum, correctSum]);
      }
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

/** A checkpoint only resumes the job that wrote it: same architecture, data and hyperparameters. */
function checkResumable(saved: CheckpointMeta, current: Omit<CheckpointMeta, 'history'>): void {
  // Checkpoints written before `maxTestExamples` existed meant "all" by leaving it out.
  const upgraded = {
    ...saved,
    hyperparameters: {
      ...saved.hyperparameters,
      maxTestExamples: saved.hyperparameters.maxTestExamples ?? null,
    },
  };
  for (const key of ['architecture', 'dataset', 'hyperparameters'] as const) {
    const a = canonicalJson(upgraded[key]);
    const b = canonicalJson(current[key]);
    if (a !== b) {
      throw new Error(
        `cannot resume: the checkpoint's ${key} differ from the job's (checkpoint ${truncate(a)}, job ${truncate(b)})`,
      );
    }
  }
}

function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

const truncate = (text: string): string => (text.length > 200 ? `${text.slice(0, 197)}...` : text);

function firstExamples(split: Split, count: number): Split {
  const pixels = split.images.length / split.count;
  return {
    images: split.images.subarray(0, count * pixels),
    labels: split.labels.subarray(0, count),
    count,
  };
}

interface Batch {
  readonly count: number;
  /** [height, width, channels] of one example. */
  readonly shape: readonly [number, number, number];
  /** count * h * w * c standardised values. */
  readonly inputs: Float32Array;
  readonly labels: Int32Array;
}

/**
 * What `cropFlip` means for an input shape: data/augment.ts's colour default, a random crop after
 * zero padding (4 pixels at 32 x 32, scaled with the side) and a horizontal flip. Grey images get
 * the same when a run asks for `cropFlip` explicitly.
 */
export function cropFlipFor(inputShape: readonly [number, number, number]): CropFlip {
  return augmentationDefault([inputShape[0], inputShape[1], 3]);
}

/** Gathers, augments and standardises batches into buffers reused across batches. */
class Batcher {
  private readonly pixels: number;
  private readonly gathered: Uint8Array;
  private readonly augmented: Uint8Array;
  private readonly inputs: Float32Array;
  private readonly labels: Int32Array;
  private readonly augmentation: CropFlip | null;

  constructor(
    readonly inputShape: readonly [number, number, number],
    readonly batchSize: number,
    private readonly stats: ChannelStats,
    augmentation: Augmentation,
  ) {
    this.pixels = inputShape[0] * inputShape[1] * inputShape[2];
    this.gathered = new Uint8Array(batchSize * this.pixels);
    this.augmented = new Uint8Array(batchSize * this.pixels);
    this.inputs = new Float32Array(batchSize * this.pixels);
    this.labels = new Int32Array(batchSize);
    this.augmentation = augmentation === 'cropFlip' ? cropFlipFor(inputShape) : null;
  }

  /**
   * The batch of examples `order[start .. start + batchSize)` (in split order when `order` is
   * null; fewer at the end), augmented with draws from `rng` when it is given and the run
   * augments. The returned arrays are overwritten by the next call.
   */
  fill(split: Split, order: Int32Array | null, start: number, rng: Random | null): Batch {
    const count = Math.min(this.batchSize, split.count - start);
    const px = this.pixels;
    for (let i = 0; i < count; i++) {
      const index = order ? (order[start + i] as number) : start + i;
      this.gathered.set(split.images.subarray(index * px, (index + 1) * px), i * px);
      this.labels[i] = split.labels[index] as number;
    }
    let bytes = this.gathered.subarray(0, count * px);
    if (this.augmentation && rng) {
      const out = this.augmented.subarray(0, count * px);
      bytes = augmentBatch(bytes, out, count, this.inputShape, this.augmentation, rng);
    }
    const inputs = normalizeInto(bytes, this.stats, this.inputs.subarray(0, count * px));
    return { count, shape: this.inputShape, inputs, labels: this.labels.subarray(0, count) };
  }
}

/**
 * One SGD step on a batch (training mode: batch statistics, running statistics updated,
 * dropout active). Returns the batch's mean loss and its number of correct predictions, both
 * owned by the caller.
 */
function trainStep(
  model: tf.LayersModel,
  trainable: ReturnType<typeof modelVariables>,
  optimizer: SgdOptimizer,
  batch: Batch,
  learningRate: number,
): { loss: tf.Scalar; correct: tf.Scalar } {
  return tf.tidy(() => {
    const x = tf.tensor4d(batch.inputs, [batch.count, ...batch.shape]);
    const y = tf.tensor1d(batch.labels, 'int32');
    let correct: tf.Scalar | null = null;
    const { value, grads } = tf.variableGrads(
      () => {
        const logits = model.apply(x, { training: true }) as tf.Tensor2D;
        // Kept: variableGrads disposes everything f makes except the loss.
        correct = tf.keep(countCorrect(logits, y));
        return crossEntropy(logits, y);
      },
      trainable.map((v) => v.variable),
    );
    const byName = new Map(trainable.map((v) => [v.name, grads[v.variable.name] as tf.Tensor]));
    optimizer.step(byName, learningRate);
    if (!correct) throw new Error('trainStep: the forward pass did not run');
    return { loss: value, correct };
  });
}

/** Mean softmax cross-entropy of logits `[n, C]` against int32 labels `[n]`. */
function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  // Written out rather than tf.losses.softmaxCrossEntropy, whose custom gradient trips tfjs'
  // kernel leak check in test mode; logSoftmax keeps it stable for large logits.
  const oneHot = tf.oneHot(labels, logits.shape[1]);
  return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1))) as tf.Scalar;
}

/** Number of rows whose argmax (lowest index on ties) is the label, int32 scalar. */
function countCorrect(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'int32'));
}

/**
 * Test loss and SR in inference mode (batch norm with running statistics, no dropout), or null
 * when `signal` aborts between batches.
 */
async function evaluate(
  model: tf.LayersModel,
  split: Split,
  batches: Batcher,
  signal: CancelSignal | undefined,
  clock: BatchClock,
): Promise<{ loss: number; sr: number } | null> {
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < split.count; start += batches.batchSize) {
    if (signal?.aborted) return null;
    const batch = batches.fill(split, null, start, null);
    const [loss, right] = tf.tidy(() => {
      const x = tf.tensor4d(batch.inputs, [batch.count, ...batch.shape]);
      const y = tf.tensor1d(batch.labels, 'int32');
      const logits = model.apply(x, { training: false }) as tf.Tensor2D;
      return [tf.mul(crossEntropy(logits, y), batch.count), countCorrect(logits, y)];
    });
    lossSum += (await loss.data())[0] as number;
    correct += (await right.data())[0] as number;
    tf.dispose([loss, right]);
    clock.tick();
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return { loss: lossSum / split.count, sr: correct / split.count };
}
