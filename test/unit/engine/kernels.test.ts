import * as tf from '@tensorflow/tfjs';
import { Random } from '../../../src/data/random.js';
import { initBackend } from '../../../src/engine/backend.js';
import {
  registerWasmTrainingKernels,
  unregisterWasmTrainingKernels,
  wasmTrainingKernelsRegistered,
} from '../../../src/engine/kernels/index.js';
import { conv2DBackpropFilterConfig } from '../../../src/engine/kernels/conv2d-backprop-filter.js';
import { conv2DBackpropInputConfig } from '../../../src/engine/kernels/conv2d-backprop-input.js';

/**
 * filterscope's wasm training kernels against the plain-JavaScript cpu backend running tfjs'
 * stock kernels and gradients. Error is norm-wise: max |wasm - cpu| / max |cpu| < 1e-4.
 */

const TOLERANCE = 1e-4;

type Backend = 'cpu' | 'wasm';

/**
 * `f`'s outputs as arrays, its tensors freed. (The arrays are not returned through tf.tidy,
 * which would walk every element looking for tensors.)
 */
function read(f: () => tf.Tensor[]): Float32Array[] {
  let out: Float32Array[] = [];
  tf.tidy(() => {
    out = f().map((t) => t.dataSync() as Float32Array);
  });
  return out;
}

/** Runs `f` on `backend` and returns its outputs as arrays. */
async function on(backend: Backend, f: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  // The gradient registry is global: the cpu reference must use the stock gradients.
  if (backend === 'cpu') unregisterWasmTrainingKernels();
  else registerWasmTrainingKernels();
  return read(f);
}

/**
 * Runs `f` on wasm and checks that its second run leaves no engine tensor and no backend buffer
 * behind. (The first run may move tensors cached by tfjs, e.g. tfjs-layers' scalars, from the
 * cpu backend.)
 */
async function onWasmWithoutLeaks(f: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend('wasm');
  registerWasmTrainingKernels();
  read(f);
  const backend = tf.backend() as unknown as { numDataIds(): number };
  const tensors = tf.memory().numTensors;
  const buffers = backend.numDataIds();
  const out = read(f);
  expect(tf.memory().numTensors).toBe(tensors);
  expect(backend.numDataIds()).toBe(buffers);
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

function expectClose(actual: Float32Array[], expected: Float32Array[]): void {
  expect(actual).toHaveLength(expected.length);
  expected.forEach((e, i) => {
    expect(e.some((v) => v !== 0)).toBe(true);
    expect(relativeError(actual[i]!, e)).toBeLessThan(TOLERANCE);
  });
}

function normal(rng: Random, shape: readonly number[]): Float32Array {
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < out.length; i++) out[i] = rng.normal();
  return out;
}

beforeAll(async () => {
  // One thread: the kernels are the same code at any thread count (backend.test.ts compares).
  const info = await initBackend('wasm', undefined, { threads: 1 });
  expect(info.name).toBe('wasm');
});

afterAll(() => {
  tf.removeBackend('wasm');
});

describe('registration', () => {
  it('replaces the conv gradient kernels of the wasm backend, idempotently', () => {
    registerWasmTrainingKernels();
    registerWasmTrainingKernels();
    expect(wasmTrainingKernelsRegistered()).toBe(true);
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')?.kernelFunc).toBe(
      conv2DBackpropFilterConfig.kernelFunc,
    );
    expect(tf.getKernel('Conv2DBackpropInput', 'wasm')?.kernelFunc).toBe(
      conv2DBackpropInputConfig.kernelFunc,
    );
    unregisterWasmTrainingKernels();
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeUndefined();
    expect(tf.getKernel('Conv2DBackpropInput', 'wasm')?.kernelFunc).not.toBe(
      conv2DBackpropInputConfig.kernelFunc,
    );
    registerWasmTrainingKernels();
  });
});

interface ConvCase {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number | [number, number];
  pad: 'same' | 'valid' | number;
}

const CONV_CASES: ConvCase[] = [
  { x: [2, 8, 8, 3], filter: [3, 3, 3, 8], strides: 1, pad: 'same' },
  { x: [3, 7, 7, 1], filter: [3, 3, 1, 4], strides: 1, pad: 'same' },
  { x: [2, 9, 6, 4], filter: [3, 3, 4, 5], strides: 1, pad: 'valid' },
  { x: [2, 8, 8, 8], filter: [3, 3, 8, 16], strides: 2, pad: 'same' },
  { x: [2, 7, 9, 3], filter: [3, 3, 3, 6], strides: 2, pad: 'same' },
  { x: [2, 8, 8, 5], filter: [3, 3, 5, 4], strides: 2, pad: 'valid' },
  { x: [2, 9, 9, 2], filter: [3, 3, 2, 3], strides: 2, pad: 'valid' },
  { x: [1, 6, 6, 16], filter: [2, 2, 16, 8], strides: 1, pad: 'same' },
  { x: [2, 10, 7, 3], filter: [5, 5, 3, 4], strides: 2, pad: 'same' },
  { x: [2, 8, 8, 4], filter: [1, 1, 4, 6], strides: 2, pad: 'same' },
  { x: [2, 8, 9, 3], filter: [3, 2, 3, 4], strides: [1, 2], pad: 'valid' },
  { x: [2, 5, 5, 2], filter: [3, 3, 2, 3], strides: 1, pad: 3 },
  { x: [2, 6, 7, 2], filter: [3, 3, 2, 3], strides: 2, pad: 2 },
];

describe('convolution gradients', () => {
  it.each(CONV_CASES)(
    'match cpu for x $x, filter $filter, strides $strides, pad $pad',
    async ({ x: xShape, filter: filterShape, strides, pad }) => {
      const rng = new Random(xShape.concat(filterShape).reduce((a, b) => a * 31 + b, 7));
      const xData = normal(rng, xShape);
      const filterData = normal(rng, filterShape);
      const yShape = tf.tidy(
        () => tf.conv2d(tf.zeros(xShape) as tf.Tensor4D, tf.zeros(filterShape), strides, pad).shape,
      );
      const dyData = normal(rng, yShape);
      const grads = (): tf.Tensor[] => {
        const dy = tf.tensor(dyData, yShape);
        const f = (x: tf.Tensor, w: tf.Tensor): tf.Tensor =>
          tf.sum(tf.mul(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, strides, pad), dy));
        return tf.grads(f)([tf.tensor(xData, xShape), tf.tensor(filterData, filterShape)]);
      };
      const expected = await on('cpu', grads);
      expectClose(await onWasmWithoutLeaks(grads), expected);
    },
  );

  it('runs conv2dTranspose (Conv2DBackpropInput) like cpu', async () => {
    const rng = new Random(11);
    const dyData = normal(rng, [2, 4, 4, 6]);
    const filterData = normal(rng, [3, 3, 5, 6]);
    const run = (): tf.Tensor[] => [
      tf.conv2dTranspose(
        tf.tensor4d(dyData, [2, 4, 4, 6]),
        tf.tensor4d(filterData, [3, 3, 5, 6]),
        [2, 8, 8, 5],
        2,
        'same',
      ),
    ];
    const expected = await on('cpu', run);
    expectClose(await onWasmWithoutLeaks(run), expected);
  });
});

describe('Sum and Mean', () => {
  const shape = [4, 5, 6, 7];
  const cases: Array<{ axes: number[]; keepDims: boolean }> = [
    { axes: [0, 1, 2], keepDims: false },
    { axes: [0, 1, 2], keepDims: true },
    { axes: [0], keepDims: false },
    { axes: [1, 0], keepDims: true },
    { axes: [-4, -3], keepDims: false },
    // Stock kernel patterns: not leading, ending at the last axis, everything.
    { axes: [1, 2], keepDims: false },
    { axes: [0, 2], keepDims: true },
    { axes: [3], keepDims: false },
    { axes: [0, 1, 2, 3], keepDims: false },
  ];
  it.each(cases)('match cpu over axes $axes (keepDims $keepDims)', async ({ axes, keepDims }) => {
    const data = normal(new Random(axes.length * 10 + (keepDims ? 1 : 0)), shape);
    const shapes: Partial<Record<Backend, number[][]>> = {};
    const run = (backend: Backend) => (): tf.Tensor[] => {
      const x = tf.tensor(data, shape);
      const out = [tf.sum(x, axes, keepDims), tf.mean(x, axes, keepDims)];
      shapes[backend] = out.map((t) => t.shape);
      return out;
    };
    const expected = await on('cpu', run('cpu'));
    expectClose(await onWasmWithoutLeaks(run('wasm')), expected);
    expect(shapes.wasm).toEqual(shapes.cpu);
  });

  it('sums int32 tensors over leading axes exactly (stock kernel)', async () => {
    const run = (): tf.Tensor[] => [
      tf.cast(tf.sum(tf.range(0, 60, 1, 'int32').reshape([3, 4, 5]), [0, 1]), 'float32'),
    ];
    const expected = await on('cpu', run);
    expect(Array.from((await onWasmWithoutLeaks(run))[0]!)).toEqual(Array.from(expected[0]!));
  });
});

describe('batch-norm gradient', () => {
  it('matches the stock gradient for x, mean, variance, offset and scale', async () => {
    const rng = new Random(5);
    const shape = [3, 5, 4, 6];
    const xData = normal(rng, shape);
    const dyData = normal(rng, shape);
    const mean = normal(rng, [6]);
    const variance = normal(rng, [6]).map((v) => 0.5 + v * v);
    const offset = normal(rng, [6]);
    const scale = normal(rng, [6]);
    // (tfjs cannot differentiate tf.batchNorm without a scale on any backend: it fails saving
    // the missing input for the backward pass.)
    const run = (): tf.Tensor[] => {
      const dy = tf.tensor(dyData, shape);
      const f = (...args: tf.Tensor[]): tf.Tensor => {
        const [x, m, v, o, s] = args as [
          tf.Tensor4D,
          tf.Tensor1D,
          tf.Tensor1D,
          tf.Tensor1D,
          tf.Tensor1D,
        ];
        return tf.sum(tf.mul(tf.batchNorm(x, m, v, o, s, 1e-3), dy));
      };
      return tf.grads(f)([
        tf.tensor(xData, shape),
        tf.tensor1d(mean),
        tf.tensor1d(variance),
        tf.tensor1d(offset),
        tf.tensor1d(scale),
      ]);
    };
    expectClose(await onWasmWithoutLeaks(run), await on('cpu', run));
  });

  it('trains a conv + BatchNormalization layer stack like cpu (training mode, input gradient included)', async () => {
    const rng = new Random(9);
    const inputShape = [7, 7, 3];
    const batch = 4;
    const xData = normal(rng, [batch, ...inputShape]);
    const labels = Float32Array.from({ length: batch * 5 }, (_, i) => (i % 5 === i % 3 ? 1 : 0));
    const build = (): tf.LayersModel => {
      const model = tf.sequential({
        layers: [
          tf.layers.conv2d({
            inputShape,
            filters: 6,
            kernelSize: 3,
            padding: 'same',
            useBias: false,
          }),
          tf.layers.batchNormalization({ axis: -1, epsilon: 1e-5 }),
          tf.layers.reLU(),
          // No bias before batch norm: its exact gradient is 0, leaving only rounding to compare.
          tf.layers.conv2d({
            filters: 4,
            kernelSize: 3,
            strides: 2,
            padding: 'valid',
            useBias: false,
          }),
          tf.layers.batchNormalization({ axis: -1, epsilon: 1e-5 }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 5 }),
        ],
      });
      const weightRng = new Random(21);
      model.setWeights(
        model.weights.map((w) => {
          const shape = w.shape as number[];
          const values = normal(weightRng, shape).map((v) => 0.3 * v);
          return tf.tensor(
            w.name.includes('variance') ? values.map((v) => 1 + Math.abs(v)) : values,
            shape,
          );
        }),
      );
      return model;
    };
    const results: Partial<Record<Backend, Float32Array[]>> = {};
    for (const backend of ['cpu', 'wasm'] as const) {
      await tf.setBackend(backend);
      const model = build();
      const step = (): tf.Tensor[] => {
        const x = tf.tensor(xData, [batch, ...inputShape]);
        const y = tf.tensor(labels, [batch, 5]);
        const loss = (input: tf.Tensor): tf.Scalar =>
          tf.losses.softmaxCrossEntropy(y, model.apply(input, { training: true }) as tf.Tensor);
        const { grads } = tf.variableGrads(
          () => loss(x),
          model.trainableWeights.map((w) => w.read() as tf.Variable),
        );
        return [...Object.values(grads), tf.grad(loss)(x)];
      };
      results[backend] = backend === 'cpu' ? await on('cpu', step) : await onWasmWithoutLeaks(step);
      model.dispose();
    }
    expectClose(results.wasm!, results.cpu!);
  });
});
