import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { ArchitectureSpec } from '../../../src/architecture/index.js';
import { Random } from '../../../src/data/random.js';
import type { LoadedDataset } from '../../../src/data/types.js';
import type { ModuleLoader } from '../../../src/engine/backend.js';
import { initBackend } from '../../../src/engine/backend.js';
import {
  registerWebgpuTrainingKernels,
  unregisterWebgpuTrainingKernels,
  webgpuTrainingKernelsRegistered,
} from '../../../src/engine/kernels/webgpu/index.js';
import { sgdUpdate } from '../../../src/engine/optimizer.js';
import { crossEntropy } from '../../../src/engine/train-step.js';
import { train } from '../../../src/engine/train.js';
import { probe, type ProbeResult } from '../../../src/engine/probe.js';
import { isSoftwareAdapter } from '../../../src/engine/webgpu.js';
import type { OutboundMessage, TrainJobSpec } from '../../../src/contract/protocol.js';
import { MessageType } from '../../../src/contract/protocol.js';
import { planProbe } from '../../../src/contract/probe-options.js';
import { resolveHyperparameters } from '../../../src/contract/hyperparameters.js';

/**
 * The webgpu backend on the software adapter CI has: Mesa llvmpipe through Dawn's OpenGL ES
 * backend (`.ci/run` installs it). Nothing here is skipped when it is missing: the first test
 * fails, saying what the host lacks.
 *
 * Every kernel the VGG nets train with is checked against the plain-JavaScript cpu backend's
 * stock kernels and gradients at shapes that are multiples of no tile size (7x5 maps, 3 and 13
 * channels, batch 3); error is norm-wise, max |webgpu - cpu| / max |cpu|. Then training and
 * probing run through the engine's own code on webgpu and are compared with wasm.
 */

const TOLERANCE = 1e-4;

/** What a software-adapter start looks like on this machine (llvmpipe, through OpenGL ES). */
const SOFTWARE_DEVICE =
  /^WebGPU software adapter: llvmpipe\S* \(vendor \S+, architecture \S+; OpenGL ES\)$/;

function normal(rng: Random, shape: readonly number[]): Float32Array {
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < out.length; i++) out[i] = rng.normal();
  return out;
}

function relativeError(actual: Float32Array, expected: Float32Array): number {
  expect(actual.length).toBe(expected.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs((actual[i] ?? NaN) - (expected[i] ?? NaN)));
    scale = Math.max(scale, Math.abs(expected[i] ?? 0));
  }
  return scale === 0 ? diff : diff / scale;
}

function expectClose(actual: Float32Array[], expected: Float32Array[], tolerance = TOLERANCE) {
  expect(actual).toHaveLength(expected.length);
  expected.forEach((e, i) => {
    expect(e.some((v) => v !== 0)).toBe(true);
    expect(relativeError(actual[i]!, e)).toBeLessThan(tolerance);
  });
}

/**
 * Runs `f` on `backend` and reads its outputs asynchronously (dataSync throws on webgpu under
 * Node). The cpu reference runs tfjs' stock gradients, the webgpu run filterscope's kernels.
 */
async function on(backend: 'cpu' | 'webgpu', f: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  if (backend === 'cpu') unregisterWebgpuTrainingKernels();
  else registerWebgpuTrainingKernels();
  const tensors = tf.tidy(f);
  try {
    return await Promise.all(tensors.map(async (t) => (await t.data()) as Float32Array));
  } finally {
    tf.dispose(tensors);
  }
}

/** `f` on cpu and on webgpu, compared; on webgpu run twice to check that nothing leaks. */
async function expectSameOnWebgpu(f: () => tf.Tensor[], tolerance = TOLERANCE): Promise<void> {
  const expected = await on('cpu', f);
  await on('webgpu', f);
  const tensors = tf.memory().numTensors;
  const actual = await on('webgpu', f);
  expect(tf.memory().numTensors).toBe(tensors);
  expectClose(actual, expected, tolerance);
}

let device = '';

beforeAll(async () => {
  const info = await initBackend('webgpu', undefined, { allowSoftware: true });
  device = info.device;
});

describe('the webgpu backend', () => {
  it('starts on the software adapter when allowed and records it as the run device', () => {
    expect(tf.getBackend()).toBe('webgpu');
    expect(device).toMatch(SOFTWARE_DEVICE);
    expect(webgpuTrainingKernelsRegistered()).toBe(true);
  });

  it('refuses software adapters unless allowed (a hardware adapter is the only other outcome)', async () => {
    // Reuses the started backend when it is there; remove it to choose an adapter again.
    tf.removeBackend('webgpu');
    try {
      const info = await initBackend('webgpu', undefined, { allowSoftware: false });
      // Only on a machine with a GPU and its Vulkan driver.
      expect(info.device).toMatch(/^WebGPU hardware adapter: /);
    } catch (error) {
      expect((error as Error).message).toMatch(
        /^backend webgpu could not be loaded: no hardware WebGPU adapter: .*software adapters are used only with FILTERSCOPE_WEBGPU_ALLOW_SOFTWARE=1$/,
      );
    } finally {
      if (tf.findBackendFactory('webgpu') as unknown) tf.removeBackend('webgpu');
      const info = await initBackend('webgpu', undefined, { allowSoftware: true });
      expect(info.device).toBe(device);
    }
  });

  it('auto: asks Dawn only where a GPU device exists, and logs a GPU it cannot use', async () => {
    const withoutNative: ModuleLoader = (id) => {
      if (id.startsWith('@tensorflow/tfjs-node')) throw new Error(`Cannot find module '${id}'`);
      return jest.requireActual<object>(id);
    };
    const empty = mkdtempSync(join(tmpdir(), 'filterscope-dev-'));
    const withGpu = mkdtempSync(join(tmpdir(), 'filterscope-dev-'));
    // A device node as the NVIDIA driver makes one; Dawn still finds no Vulkan adapter here.
    writeFileSync(join(withGpu, 'nvidia0'), '');
    const logged: string[] = [];
    const log = (message: string) => logged.push(message);
    try {
      tf.removeBackend('webgpu');
      const quiet = await initBackend('auto', withoutNative, {
        deviceRoot: empty,
        threads: 1,
        log,
      });
      expect(quiet.name).toBe('wasm');
      expect(quiet.skipped[1]).toBe('webgpu: no GPU device (/dev/nvidia*, /dev/dri/renderD*)');
      expect(logged).toEqual([]);

      // auto never takes the software adapter, even where explicit webgpu may.
      const loud = await initBackend('auto', withoutNative, {
        deviceRoot: withGpu,
        threads: 1,
        allowSoftware: true,
        log,
      });
      expect(loud.name).toBe('wasm');
      expect(loud.skipped.map((s) => s.split(':')[0])).toEqual([
        'tensorflow-gpu',
        'webgpu',
        'tensorflow',
      ]);
      expect(loud.skipped[1]).toMatch(/^webgpu: no hardware WebGPU adapter: /);
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatch(
        new RegExp(
          `^backend auto: ${withGpu}/nvidia0 exists but webgpu cannot use it, trying the next backend: no hardware WebGPU adapter`,
        ),
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
      rmSync(withGpu, { recursive: true, force: true });
      tf.removeBackend('wasm');
      await initBackend('webgpu', undefined, { allowSoftware: true });
    }
  });

  it('cannot read synchronously under Node: dataSync throws, data() answers', async () => {
    await tf.setBackend('webgpu');
    // Large enough to run on the GPU: small tensors whose values are in memory run on the CPU.
    const t = tf.tidy(() => tf.add(tf.ones([64, 64]), tf.ones([64, 64])));
    try {
      expect(() => t.dataSync()).toThrow(/OffscreenCanvas/);
      expect(new Set(await t.data())).toEqual(new Set([2]));
    } finally {
      t.dispose();
    }
  });

  it('is never read synchronously by the engine: no dataSync, arraySync, bufferSync or readSync', () => {
    const root = join(__dirname, '../../../src/engine');
    const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) =>
      f.endsWith('.ts'),
    );
    expect(files.length).toBeGreaterThan(20);
    const found = files.flatMap((f) =>
      readFileSync(join(root, f), 'utf8')
        .split('\n')
        .filter((line) => /\.(dataSync|arraySync|bufferSync|readSync)\(/.test(line))
        .map((line) => `${f}: ${line.trim()}`),
    );
    // Training and probing run on webgpu here (below), which would throw at any of them.
    expect(found).toEqual([]);
  });

  it('registers its kernels for webgpu alone and puts the stock ones back', () => {
    const before = ['wasm', 'cpu'].map((b) => tf.getKernel('Conv2DBackpropFilter', b));
    registerWebgpuTrainingKernels();
    const ours = tf.getKernel('Conv2DBackpropFilter', 'webgpu')?.kernelFunc;
    unregisterWebgpuTrainingKernels();
    expect(tf.getKernel('Conv2DBackpropFilter', 'webgpu')?.kernelFunc).not.toBe(ours);
    registerWebgpuTrainingKernels();
    expect(tf.getKernel('Conv2DBackpropFilter', 'webgpu')?.kernelFunc).not.toBe(
      tf.getKernel('Conv2DBackpropFilter', 'cpu')?.kernelFunc,
    );
    expect(['wasm', 'cpu'].map((b) => tf.getKernel('Conv2DBackpropFilter', b))).toEqual(before);
  });

  it('tells software adapters from hardware ones', () => {
    const info = (device: string, description = '') => ({
      vendor: '',
      architecture: '',
      device,
      description,
    });
    expect(isSoftwareAdapter(info('llvmpipe (LLVM 15.0.6, 256 bits)'))).toBe(true);
    expect(isSoftwareAdapter(info('SwiftShader Device (Subzero)'))).toBe(true);
    expect(isSoftwareAdapter(info('x', 'Mesa lavapipe'))).toBe(true);
    expect(isSoftwareAdapter({ ...info('Basic'), isFallbackAdapter: true })).toBe(true);
    expect(isSoftwareAdapter(info('NVIDIA H100 80GB HBM3', 'NVIDIA: 580.159.04'))).toBe(false);
  });
});

describe('gradients of every kernel the VGG nets train with, against cpu', () => {
  const rng = new Random(11);
  const x = normal(rng, [3, 7, 5, 13]);
  const x3 = normal(rng, [3, 7, 5, 3]);
  const scale13 = normal(rng, [13]);

  /** The sum of `y` weighted by fixed random values, so that dy is not all ones. */
  const weighted = (y: tf.Tensor, seed: number): tf.Scalar =>
    tf.sum(tf.mul(y, tf.tensor(normal(new Random(seed), y.shape), y.shape)));

  it.each([
    ['3 -> 13 channels, no bias', x3, [3, 3, 3, 13], false],
    ['13 -> 3 channels, with bias', x, [3, 3, 13, 3], true],
    ['13 -> 13 channels, with bias', x, [3, 3, 13, 13], true],
  ] as const)(
    'conv 3x3 same (fused, as tfjs-layers runs it), %s',
    async (_n, input, shape, bias) => {
      const w = normal(rng, shape);
      const b = normal(rng, [shape[3]]);
      await expectSameOnWebgpu(() => {
        const args: tf.Tensor[] = [
          tf.tensor4d(input, [3, 7, 5, shape[2]]),
          tf.tensor4d(w, [...shape]),
        ];
        if (bias) args.push(tf.tensor1d(b));
        const f = (...t: tf.Tensor[]) =>
          weighted(
            tf.fused.conv2d({
              x: t[0] as tf.Tensor4D,
              filter: t[1] as tf.Tensor4D,
              strides: 1,
              pad: 'same',
              ...(t[2] ? { bias: t[2] } : {}),
            }),
            1,
          );
        return [f(...args), ...tf.grads(f)(args)];
      });
    },
  );

  it('batch norm in training mode (statistics of the batch), gradients of x, scale and offset', async () => {
    const scale = normal(rng, [13]);
    const offset = normal(rng, [13]);
    await expectSameOnWebgpu(() => {
      const f = (input: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
        const { mean, variance } = tf.moments(input, [0, 1, 2]);
        return weighted(tf.batchNorm(input as tf.Tensor4D, mean, variance, b, g, 1e-5), 2);
      };
      const args = [tf.tensor4d(x, [3, 7, 5, 13]), tf.tensor1d(scale), tf.tensor1d(offset)];
      return [f(args[0]!, args[1]!, args[2]!), ...tf.grads(f)(args)];
    });
  });

  it('batch norm in inference mode (running statistics), gradients of every input', async () => {
    const stats = [normal(rng, [13]), normal(rng, [13]).map(Math.abs), normal(rng, [13])];
    await expectSameOnWebgpu(() => {
      const f = (input: tf.Tensor, m: tf.Tensor, v: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
        weighted(tf.batchNorm(input as tf.Tensor4D, m, v, b, g, 1e-5), 3);
      const args = [
        tf.tensor4d(x, [3, 7, 5, 13]),
        tf.tensor1d(stats[0]!),
        tf.tensor1d(stats[1]!),
        tf.tensor1d(stats[2]!),
        tf.tensor1d(scale13),
      ];
      return [f(args[0]!, args[1]!, args[2]!, args[3]!, args[4]!), ...tf.grads(f)(args)];
    });
  });
  it.each([
    ['relu', (t: tf.Tensor) => tf.relu(t)],
    ['max pool 2x2', (t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid')],
    ['avg pool 2x2', (t: tf.Tensor) => tf.avgPool(t as tf.Tensor4D, 2, 2, 'valid')],
    ['max pool 3x3 stride 2 same', (t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, 3, 2, 'same')],
  ] as const)('%s', async (_name, op) => {
    await expectSameOnWebgpu(() => {
      const f = (input: tf.Tensor) => weighted(op(input), 4);
      const input = tf.tensor4d(x, [3, 7, 5, 13]);
      return [f(input), tf.grad(f)(input)];
    });
  });

  it('dense (fused matMul + bias + relu, as tfjs-layers runs it) and plain matMul', async () => {
    const a = normal(rng, [3, 13]);
    const w = normal(rng, [13, 7]);
    const b = normal(rng, [7]);
    await expectSameOnWebgpu(() => {
      const dense = (input: tf.Tensor, k: tf.Tensor, bias: tf.Tensor) =>
        weighted(
          tf.fused.matMul({
            a: input as tf.Tensor2D,
            b: k as tf.Tensor2D,
            bias,
            activation: 'relu',
          }),
          5,
        );
      const plain = (input: tf.Tensor, k: tf.Tensor) =>
        weighted(tf.matMul(input as tf.Tensor2D, k as tf.Tensor2D), 6);
      const args = [tf.tensor2d(a, [3, 13]), tf.tensor2d(w, [13, 7]), tf.tensor1d(b)];
      return [
        dense(args[0]!, args[1]!, args[2]!),
        ...tf.grads(dense)(args),
        ...tf.grads(plain)(args.slice(0, 2)),
      ];
    });
  });

  it('softmax cross-entropy (the engine’s own), gradient of the logits', async () => {
    const logits = normal(rng, [3, 13]).map((v) => v * 4);
    await expectSameOnWebgpu(() => {
      const labels = tf.tensor1d([2, 12, 0], 'int32');
      const f = (l: tf.Tensor) => crossEntropy(l as tf.Tensor2D, labels);
      const input = tf.tensor2d(logits, [3, 13]);
      return [f(input), tf.grad(f)(input)];
    });
  });

  it('the SGD update (plain tensor ops, nesterov, weight decay)', async () => {
    const [w, g, v] = [
      normal(rng, [3, 3, 3, 13]),
      normal(rng, [3, 3, 3, 13]),
      normal(rng, [3, 3, 3, 13]),
    ];
    await expectSameOnWebgpu(() => {
      const out = sgdUpdate(
        tf.tensor(w, [3, 3, 3, 13]),
        tf.tensor(g, [3, 3, 3, 13]),
        tf.tensor(v, [3, 3, 3, 13]),
        0.05,
        { momentum: 0.9, weightDecay: 5e-4, nesterov: true },
      );
      return [out.weight, out.velocity];
    });
  });
});

describe('filterscope’s webgpu kernels at shapes that fit no tile', () => {
  const rng = new Random(5);

  interface ConvCase {
    x: [number, number, number, number];
    filter: [number, number, number, number];
    strides: number | [number, number];
    pad: 'same' | 'valid' | number;
  }
  it.each<ConvCase>([
    { x: [3, 7, 5, 3], filter: [3, 3, 3, 13], strides: 1, pad: 'same' },
    { x: [3, 7, 5, 13], filter: [3, 3, 13, 3], strides: 1, pad: 'same' },
    { x: [2, 9, 6, 4], filter: [3, 3, 4, 5], strides: 1, pad: 'valid' },
    { x: [2, 7, 9, 3], filter: [3, 3, 3, 6], strides: 2, pad: 'same' },
    { x: [2, 8, 8, 5], filter: [3, 3, 5, 4], strides: 2, pad: 'valid' },
    { x: [2, 10, 7, 3], filter: [5, 5, 3, 4], strides: 2, pad: 'same' },
    { x: [2, 8, 9, 3], filter: [3, 2, 3, 4], strides: [1, 2], pad: 'valid' },
    { x: [2, 5, 5, 2], filter: [3, 3, 2, 3], strides: 1, pad: 3 },
    // K = 3*3*13 = 117 and F = 70: two tiles of 64 each way, both partly empty.
    { x: [1, 5, 3, 13], filter: [3, 3, 13, 70], strides: 1, pad: 'same' },
    // M = 45 * 9 * 7 = 2835 positions: split into slices, summed by the second pass.
    { x: [45, 9, 7, 3], filter: [3, 3, 3, 13], strides: 1, pad: 'same' },
  ])('Conv2DBackpropFilter for x $x, filter $filter, strides $strides, pad $pad', async (c) => {
    const xs = normal(rng, c.x);
    const info = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad);
    const dyShape = [c.x[0], info.outHeight, info.outWidth, c.filter[3]];
    const dys = normal(rng, dyShape);
    await expectSameOnWebgpu(() => [
      tf
        .engine()
        .runKernel(
          tf.Conv2DBackpropFilter,
          { x: tf.tensor4d(xs, c.x), dy: tf.tensor(dys, dyShape) },
          { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: c.filter },
        ) as tf.Tensor,
    ]);
  });

  it.each([
    { shape: [3, 7, 5, 13], axes: [0, 1, 2] },
    { shape: [3, 7, 5, 3], axes: [0, 1] },
    { shape: [3, 13], axes: [0] },
    { shape: [45, 9, 7, 3], axes: [0, 1, 2] },
    { shape: [1100, 130], axes: [0] },
    { shape: [3, 7, 5, 13], axes: [3] },
  ])(
    'Sum and Mean of $shape over axes $axes, with and without kept dims',
    async ({ shape, axes }) => {
      const values = normal(rng, shape);
      await expectSameOnWebgpu(() => {
        const t = tf.tensor(values, shape);
        return [tf.sum(t, axes), tf.mean(t, axes), tf.sum(t, axes, true), tf.mean(t, axes, true)];
      });
    },
  );
});

/** A small VGG: every kind of block the presets use, at 8x8x3 with odd filter counts. */
const VGG: ArchitectureSpec = {
  name: 'small vgg',
  inputShape: [8, 8, 3],
  labels: 3,
  blocks: [
    { kind: 'conv', filters: 5 },
    { kind: 'conv', filters: 5 },
    { kind: 'maxPool' },
    { kind: 'conv', filters: 7 },
    { kind: 'maxPool' },
    { kind: 'flatten' },
    { kind: 'dropout', rate: 0.2 },
    { kind: 'dense', units: 6 },
  ],
};

function dataset(train: number, test: number): LoadedDataset {
  const rng = new Random(3);
  const split = (count: number) => {
    const images = new Uint8Array(count * 8 * 8 * 3);
    const labels = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      const label = rng.int(3);
      labels[i] = label;
      for (let p = 0; p < 64 * 3; p++) {
        images[i * 192 + p] = Math.floor(rng.uniform(0, 150) + (p % 3 === label ? 100 : 0));
      }
    }
    return { images, labels, count };
  };
  return {
    name: 'synthetic',
    inputShape: [8, 8, 3],
    labelNames: ['r', 'g', 'b'],
    train: split(train),
    test: split(test),
  };
}

const DATA = dataset(24, 10);
const JOB: TrainJobSpec = {
  architecture: VGG,
  dataset: { name: 'synthetic' },
  hyperparameters: resolveHyperparameters(
    { epochs: 2, batchSize: 8, seed: 9, learningRate: 0.05, augmentation: 'cropFlip' },
    { inputShape: VGG.inputShape },
  ),
};

async function trainOn(backend: 'wasm' | 'webgpu'): Promise<OutboundMessage[]> {
  const info =
    backend === 'wasm'
      ? await initBackend('wasm', undefined, { threads: 1 })
      : await initBackend('webgpu', undefined, { allowSoftware: true });
  const messages: OutboundMessage[] = [];
  await train(
    JOB,
    DATA,
    { post: (m) => messages.push(m), onMessage: () => () => undefined },
    {
      stepIntervalMs: 0,
      backend: info,
    },
  );
  return messages;
}

const epochs = (messages: OutboundMessage[]) =>
  messages.flatMap((m) => (m.type === MessageType.Epoch ? [m.metrics] : []));
const steps = (messages: OutboundMessage[]) =>
  messages.flatMap((m) => (m.type === MessageType.Step ? [m.loss] : []));

describe('training and probing on webgpu, against wasm', () => {
  let onWasm: OutboundMessage[] = [];
  let onWebgpu: OutboundMessage[] = [];

  beforeAll(async () => {
    // wasm first: tensors that tfjs-layers caches move from the backend that made them, and
    // moving reads synchronously, which webgpu cannot do under Node.
    onWasm = await trainOn('wasm');
    const before = tf.memory().numTensors;
    onWebgpu = await trainOn('webgpu');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('takes the same steps with the same losses as wasm, within float tolerance', () => {
    expect(onWebgpu.map((m) => m.type)).toEqual(onWasm.map((m) => m.type));
    const [wasmLoss, gpuLoss] = [steps(onWasm), steps(onWebgpu)];
    expect(gpuLoss).toHaveLength(6);
    gpuLoss.forEach((loss, i) =>
      expect(Math.abs(loss - wasmLoss[i]!)).toBeLessThan(1e-4 * Math.abs(wasmLoss[i]!)),
    );
    const [a, b] = [epochs(onWasm), epochs(onWebgpu)];
    b.forEach((m, i) => {
      const ref = a[i]!;
      expect(m.trainSR).toBe(ref.trainSR);
      expect(m.testSR).toBe(ref.testSR);
      expect(Math.abs(m.testLoss - ref.testLoss)).toBeLessThan(1e-4 * ref.testLoss);
    });
    const started = onWebgpu.find((m) => m.type === MessageType.Started);
    expect(started).toMatchObject({
      backend: 'webgpu',
      device: expect.stringMatching(SOFTWARE_DEVICE),
    });
  });

  it('probes a checkpoint with the same success rates and matrices as wasm', async () => {
    const last = onWasm.filter((m) => m.type === MessageType.Checkpoint).pop();
    if (last?.type !== MessageType.Checkpoint) throw new Error('no checkpoint');
    const plan = planProbe({ headEpochs: 2, batchSize: 8, seed: 2 }, { spec: VGG });
    const run = async (backend: 'wasm' | 'webgpu'): Promise<ProbeResult> => {
      await tf.setBackend(backend);
      return probe(last.bytes, DATA, plan, () => undefined);
    };
    const reference = await run('wasm');
    const result = await run('webgpu');
    expect(result.backend).toBe('webgpu');
    expect(result.layers.map((l) => l.successRate)).toEqual(
      reference.layers.map((l) => l.successRate),
    );
    result.layers.forEach((layer, i) => {
      const ref = reference.layers[i]!;
      expectClose([...layer.matrices], [...ref.matrices], 1e-3);
      expectClose([layer.head.kernel], [ref.head.kernel], 1e-3);
    });
  });
});
