import { writeFileSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import type { ArchitectureSpec } from '../src/architecture/index.js';
import { vgg16 } from '../src/architecture/index.js';
import { resolveHyperparameters } from '../src/contract/hyperparameters.js';
import type { EpochMetrics, OutboundMessage, TrainJobSpec } from '../src/contract/protocol.js';
import { MessageType } from '../src/contract/protocol.js';
import { channelStats } from '../src/data/normalize.js';
import { Random } from '../src/data/random.js';
import type { LoadedDataset } from '../src/data/types.js';
import { initBackend, type BackendInfo } from '../src/engine/backend.js';
import { decodeCheckpoint } from '../src/contract/checkpoint.js';
import { buildModel, modelVariables, setDropoutSeed } from '../src/engine/model.js';
import { SgdOptimizer } from '../src/engine/optimizer.js';
import { Batcher, crossEntropy, trainStep, type Batch } from '../src/engine/train-step.js';
import { train } from '../src/engine/train.js';

/**
 * The node part of bench/gpu-check.sh (read that file first). Three modes:
 *
 *   reference --out FILE      on wasm, here: the losses and weight summaries of a short VGG-16
 *                             run, written as JSON for the GPU machine to compare with
 *   gpu --reference FILE --out FILE [--allow-software] [--batch 128] [--seconds 8]
 *                             on webgpu: the same run, compared with the reference, then training
 *                             and inference images/s of VGG-16 at batch 128
 *   spec --out FILE           VGG-16's architecture spec, for the PyTorch side
 *   trace --out FILE          the files `gpu` loads (started on the software adapter here): what
 *                             the bundle for the GPU machine must hold
 *
 * The short run is the engine's own `train()` (phase 1 exactly as a job runs it: augmentation,
 * dropout, batch norm, SGD, per-step losses read with `await data()`, evaluation, a checkpoint
 * read back from the device), on synthetic 32x32x3 data made from a fixed seed, so that both
 * backends see the same bytes.
 */

const SPEC: ArchitectureSpec = vgg16('VGG-16 32x32x3', [32, 32, 3], 10);

/** The short run: 3 batches of 32, then the test split. */
const SHORT = { train: 96, test: 32, batch: 32 } as const;

/**
 * Relative tolerances. Two float32 implementations do not round alike, and a ReLU whose input
 * lies within rounding of 0 then passes its gradient on one backend and not on the other: one
 * such element changes its channel's batch-norm offset gradient by a few percent and every
 * layer below it by ~3e-3 (seen between wasm and the cpu backend, which agree with each other no
 * better than with webgpu). So the first loss (a forward pass) must agree to float rounding,
 * gradients to a few percent (relative L2 per tensor), and the losses after a few steps to 1%;
 * a wrong kernel is off by far more.
 */
const TOLERANCE = { firstLoss: 1e-5, gradients: 5e-2, laterLosses: 1e-2 } as const;

/** Random sign vectors per tensor that gradients are projected on (see `project`). */
const PROJECTIONS = 8;

function dataset(trainCount: number, testCount: number): LoadedDataset {
  const rng = new Random(2024);
  const split = (count: number) => {
    const images = new Uint8Array(count * 32 * 32 * 3);
    const labels = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      const label = rng.int(10);
      labels[i] = label;
      // A learnable signal: the label brightens one channel of one band of rows.
      for (let p = 0; p < 32 * 32 * 3; p++) {
        const band = Math.floor(p / (32 * 3 * 4)) % 10 === label && p % 3 === label % 3;
        images[i * 3072 + p] = Math.floor(rng.uniform(0, 180) + (band ? 75 : 0));
      }
    }
    return { images, labels, count };
  };
  return {
    name: 'synthetic',
    inputShape: [32, 32, 3],
    labelNames: [...Array(10).keys()].map(String),
    train: split(trainCount),
    test: split(testCount),
  };
}

const JOB: TrainJobSpec = {
  architecture: SPEC,
  dataset: { name: 'synthetic' },
  hyperparameters: resolveHyperparameters(
    { epochs: 1, batchSize: SHORT.batch, seed: 17, learningRate: 0.005, augmentation: 'cropFlip' },
    { inputShape: SPEC.inputShape },
  ),
};

/** The first step's loss and gradients, the latter as projections (see `project`). */
interface FirstStep {
  readonly loss: number;
  readonly gradients: { name: string; norm: number; projections: number[] }[];
}

/** What the short run left: the first step, per-step losses, the epoch's metrics. */
interface ShortRun {
  readonly backend: string;
  readonly device: string;
  readonly first: FirstStep;
  readonly stepLosses: number[];
  readonly metrics: EpochMetrics;
  /** Weight tensors in the checkpoint, read back from the device. */
  readonly checkpointTensors: number;
  readonly seconds: number;
}

/**
 * `values` projected on PROJECTIONS fixed pseudo-random sign vectors. For a difference d of two
 * gradients, the mean of its squared projections estimates |d|^2 (Johnson-Lindenstrauss), so the
 * relative L2 error of a 15-million-value gradient is checked from 8 numbers a tensor carried
 * here, instead of 60 MB.
 */
function project(values: Float32Array): number[] {
  const out = new Array<number>(PROJECTIONS).fill(0);
  for (let j = 0; j < values.length; j++) {
    const v = values[j] as number;
    // One multiplicative hash of the index gives the signs of all the vectors at j.
    const bits = Math.imul(j + 1, 0x9e3779b1) >>> 0;
    for (let i = 0; i < PROJECTIONS; i++) out[i]! += (bits >>> (i + 8)) & 1 ? v : -v;
  }
  return out;
}

/** Loss and gradients of one training-mode step of VGG-16 from its initial weights. */
async function firstStep(data: LoadedDataset): Promise<FirstStep> {
  const model = buildModel(SPEC, JOB.hyperparameters.seed);
  try {
    const trainable = modelVariables(model).filter((v) => v.trainable);
    const stats = channelStats(data.train, data.inputShape);
    const batch = new Batcher(data.inputShape, SHORT.batch, stats, 'none').fill(
      data.train,
      null,
      0,
      null,
    );
    setDropoutSeed(model, 12345);
    const { value, grads } = tf.tidy(() =>
      tf.variableGrads(
        () =>
          crossEntropy(
            model.apply(tf.tensor4d(batch.inputs, [batch.count, ...batch.shape]), {
              training: true,
            }) as tf.Tensor2D,
            tf.tensor1d(batch.labels, 'int32'),
          ),
        trainable.map((v) => v.variable),
      ),
    );
    try {
      const gradients = [];
      for (const v of trainable) {
        const g = (await (grads[v.variable.name] as tf.Tensor).data()) as Float32Array;
        let norm = 0;
        for (const x of g) norm += x * x;
        gradients.push({ name: v.name, norm: Math.sqrt(norm), projections: project(g) });
      }
      return { loss: (await value.data())[0] as number, gradients };
    } finally {
      tf.dispose([value, ...Object.values(grads)]);
    }
  } finally {
    model.dispose();
  }
}

async function shortRun(info: BackendInfo): Promise<ShortRun> {
  const messages: OutboundMessage[] = [];
  const data = dataset(SHORT.train, SHORT.test);
  const started = performance.now();
  const first = await firstStep(data);
  await train(
    JOB,
    data,
    { post: (m) => messages.push(m), onMessage: () => () => undefined },
    { stepIntervalMs: 0, backend: info },
  );
  const seconds = (performance.now() - started) / 1000;
  const checkpoint = messages.find((m) => m.type === MessageType.Checkpoint);
  const epoch = messages.find((m) => m.type === MessageType.Epoch);
  if (checkpoint?.type !== MessageType.Checkpoint || epoch?.type !== MessageType.Epoch) {
    throw new Error(`the short run did not finish: ${messages.map((m) => m.type).join(', ')}`);
  }
  return {
    backend: info.name,
    device: info.device,
    first,
    stepLosses: messages.flatMap((m) => (m.type === MessageType.Step ? [m.loss] : [])),
    metrics: epoch.metrics,
    checkpointTensors: decodeCheckpoint(checkpoint.bytes).weights.length,
    seconds,
  };
}

/** The largest relative differences of `run` from `reference`, by what was compared. */
function compare(run: ShortRun, reference: ShortRun) {
  const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);
  const steps = reference.stepLosses.length;
  if (
    run.stepLosses.length !== steps ||
    run.first.gradients.length !== reference.first.gradients.length
  ) {
    throw new Error(
      'the run and the reference did not take the same steps: compare like with like',
    );
  }
  let gradients = 0;
  let worstGradient = '';
  run.first.gradients.forEach((g, i) => {
    const r = reference.first.gradients[i]!;
    if (r.name !== g.name)
      throw new Error(`gradient ${i} is ${g.name} here, ${r.name} in the reference`);
    const squared = (p: readonly number[]) => p.reduce((s, x) => s + x * x, 0);
    const diff = squared(g.projections.map((p, j) => p - r.projections[j]!));
    // The same estimate for the reference's own norm, so that both sides carry the same noise.
    const e = Math.sqrt(diff / Math.max(squared(r.projections), 1e-30));
    if (e > gradients) [gradients, worstGradient] = [e, g.name];
  });
  const later = run.stepLosses.slice(1).map((l, i) => rel(l, reference.stepLosses[i + 1]!));
  const errors = {
    firstLoss: Math.max(
      rel(run.first.loss, reference.first.loss),
      rel(run.stepLosses[0]!, reference.stepLosses[0]!),
    ),
    gradients,
    worstGradient,
    laterLosses: Math.max(
      ...later,
      rel(run.metrics.trainLoss, reference.metrics.trainLoss),
      rel(run.metrics.testLoss, reference.metrics.testLoss),
    ),
  };
  const ok =
    errors.firstLoss < TOLERANCE.firstLoss &&
    errors.gradients < TOLERANCE.gradients &&
    errors.laterLosses < TOLERANCE.laterLosses &&
    run.checkpointTensors === reference.checkpointTensors;
  return { ok, errors };
}

/** Images/s of `step` (which returns a tensor to wait on), timed after `warmup` calls. */
async function imagesPerSecond(
  step: () => tf.Tensor,
  batch: number,
  warmup: number,
  seconds: number,
): Promise<{ imagesPerSecond: number; steps: number }> {
  for (let i = 0; i < warmup; i++) {
    const t = step();
    await t.data();
    t.dispose();
  }
  const start = performance.now();
  let steps = 0;
  let last: tf.Tensor | null = null;
  // Enqueue without waiting, as training does, reading back once per second.
  let sync = start;
  while (performance.now() - start < seconds * 1000 || steps < 3) {
    last?.dispose();
    last = step();
    steps++;
    if (performance.now() - sync > 1000) {
      await last.data();
      sync = performance.now();
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  await last?.data();
  last?.dispose();
  return { imagesPerSecond: (steps * batch * 1000) / (performance.now() - start), steps };
}

/** VGG-16 at batch `batch`: the engine's training step and an inference pass, images/s. */
async function throughput(batch: number, seconds: number) {
  const model = buildModel(SPEC, 1);
  const trainable = modelVariables(model).filter((v) => v.trainable);
  const optimizer = new SgdOptimizer(trainable, {
    momentum: 0.9,
    weightDecay: 5e-4,
    nesterov: false,
  });
  const rng = new Random(5);
  const inputs = Float32Array.from({ length: batch * 32 * 32 * 3 }, () => rng.normal());
  const labels = Int32Array.from({ length: batch }, () => rng.int(10));
  const data: Batch = { count: batch, shape: [32, 32, 3], inputs, labels };
  try {
    const training = await imagesPerSecond(
      () => {
        setDropoutSeed(model, rng.int(0x100000000));
        const { loss, correct } = trainStep(model, trainable, optimizer, data, 0.01);
        correct.dispose();
        return loss;
      },
      batch,
      3,
      seconds,
    );
    const x = tf.tensor4d(inputs, [batch, 32, 32, 3]);
    const inference = await imagesPerSecond(
      () => tf.tidy(() => tf.sum(model.apply(x, { training: false }) as tf.Tensor)),
      batch,
      3,
      seconds,
    ).finally(() => x.dispose());
    return { batch, training, inference };
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}

async function main(): Promise<void> {
  const mode = process.argv[2];
  const { values } = parseArgs({
    args: process.argv.slice(3),
    options: {
      out: { type: 'string' },
      reference: { type: 'string' },
      'allow-software': { type: 'boolean', default: false },
      batch: { type: 'string', default: '128' },
      seconds: { type: 'string', default: '8' },
    },
  });
  const out = values.out;
  if (!out) throw new Error('--out FILE is required');
  if (mode === 'spec') {
    writeFileSync(out, JSON.stringify(SPEC, null, 2));
    return;
  }
  if (mode === 'trace') {
    // Every module is loaded at start (the tfjs packages are single-file bundles): starting the
    // backend and running a kernel loads all that the gpu mode will.
    await initBackend('webgpu', undefined, { allowSoftware: true });
    await tf
      .tidy(() =>
        tf.sum(
          tf.conv2d(
            tf.ones([1, 4, 4, 3]) as tf.Tensor4D,
            tf.ones([3, 3, 3, 2]) as tf.Tensor4D,
            1,
            'same',
          ),
        ),
      )
      .data();
    writeFileSync(out, Object.keys(require.cache).join('\n') + '\n');
    return;
  }
  if (mode === 'reference') {
    const info = await initBackend('wasm');
    const run = await shortRun(info);
    writeFileSync(out, JSON.stringify(run));
    console.log(
      `reference on ${info.device}: step losses ${run.stepLosses.join(', ')} (${run.seconds.toFixed(1)} s)`,
    );
    return;
  }
  if (mode !== 'gpu') throw new Error(`mode must be reference, gpu, spec or trace, got ${mode}`);
  if (!values.reference) throw new Error('--reference FILE is required');
  const reference = JSON.parse(readFileSync(values.reference, 'utf8')) as ShortRun;
  const result: Record<string, unknown> = {};
  const save = () => writeFileSync(out, JSON.stringify(result, null, 2));
  const info = await initBackend('webgpu', undefined, {
    allowSoftware: values['allow-software'] === true,
  }).catch((error: unknown) => {
    // The reason goes into the result file too, which is what comes back from the machine.
    result.error = (error as Error).message;
    save();
    throw error;
  });
  result.device = info.device;
  console.log(`webgpu: ${info.device}`);
  save();

  const run = await shortRun(info);
  const { ok, errors } = compare(run, reference);
  result.shortRun = {
    ok,
    tolerance: TOLERANCE,
    errors,
    seconds: run.seconds,
    stepLosses: run.stepLosses,
    referenceStepLosses: reference.stepLosses,
    referenceDevice: reference.device,
    testLoss: [run.metrics.testLoss, reference.metrics.testLoss],
  };
  save();
  console.log(
    `short run (one step's gradients, then engine train(): ${SHORT.train / SHORT.batch} steps of ${SHORT.batch}; ${run.seconds.toFixed(1)} s): ${ok ? 'MATCHES' : 'DIFFERS FROM'} wasm; largest relative errors: first loss ${errors.firstLoss.toExponential(2)} (< ${TOLERANCE.firstLoss}), gradients ${errors.gradients.toExponential(2)} (${errors.worstGradient}; < ${TOLERANCE.gradients}), later losses ${errors.laterLosses.toExponential(2)} (< ${TOLERANCE.laterLosses})`,
  );
  console.log(`  step losses webgpu ${run.stepLosses.map((l) => l.toFixed(6)).join(', ')}`);
  console.log(`  step losses wasm   ${reference.stepLosses.map((l) => l.toFixed(6)).join(', ')}`);

  const batch = Number(values.batch);
  const speed = await throughput(batch, Number(values.seconds));
  result.throughput = speed;
  save();
  console.log(
    `VGG-16 32x32x3, batch ${batch}: training ${speed.training.imagesPerSecond.toFixed(0)} images/s (${speed.training.steps} steps), inference ${speed.inference.imagesPerSecond.toFixed(0)} images/s`,
  );
  if (!ok) process.exitCode = 2;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
