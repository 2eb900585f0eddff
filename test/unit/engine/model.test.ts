import * as tf from '@tensorflow/tfjs';
import type { ArchitectureSpec } from '../../../src/architecture/index.js';
import { summarize, vgg6 } from '../../../src/architecture/index.js';
import {
  blockOutputLayerName,
  buildModel,
  buildProbeModel,
  modelVariables,
  readVariables,
  setDropoutSeed,
  writeVariables,
} from '../../../src/engine/model.js';

/** Every block kind: conv with and without batch norm, both poolings, dropout, dense. */
const MIXED: ArchitectureSpec = {
  name: 'mixed test net',
  inputShape: [9, 9, 2],
  labels: 3,
  blocks: [
    { kind: 'conv', filters: 4 },
    { kind: 'conv', filters: 3, batchNorm: false, activation: 'linear', padding: 'valid' },
    { kind: 'maxPool' },
    { kind: 'conv', filters: 5, kernelSize: 1 },
    { kind: 'avgPool' },
    { kind: 'flatten' },
    { kind: 'dropout', rate: 0.5 },
    { kind: 'dense', units: 6 },
  ],
};

/** What imports add: explicit padding, a conv with bias and batch norm, global pooling. */
const IMPORTED: ArchitectureSpec = {
  name: 'imported test net',
  inputShape: [12, 16, 3],
  labels: 4,
  blocks: [
    {
      kind: 'conv',
      filters: 4,
      stride: 2,
      padding: { top: 1, bottom: 1, left: 1, right: 1 },
      bias: true,
    },
    { kind: 'conv', filters: 3, batchNorm: false, bias: false },
    { kind: 'conv', filters: 5, kernelSize: 2, padding: { top: 0, bottom: 1, left: 1, right: 0 } },
    { kind: 'globalAvgPool' },
    { kind: 'dense', units: 6, activation: 'linear' },
  ],
};

/** The summarized layer a variable belongs to: `conv1_bn/gamma` -> `conv1`. */
const summarizedName = (variable: string): string =>
  (variable.split('/')[0] ?? '').replace(/_(bn|relu)$/, '');

beforeAll(async () => {
  tf.env().set('IS_TEST', true);
  await tf.setBackend('cpu');
});

describe('buildModel', () => {
  it.each([
    ['mixed', MIXED],
    ['VGG-6 28x28x1', vgg6('v', [28, 28, 1], 10)],
    ['imported layers', IMPORTED],
  ])('matches summarize() layer by layer: output shapes and parameter counts (%s)', (_, spec) => {
    const before = tf.memory().numTensors;
    const model = buildModel(spec, 7);
    const summary = summarize(spec);
    const counts = new Map<string, number>();
    for (const v of modelVariables(model)) {
      const key = summarizedName(v.name);
      counts.set(key, (counts.get(key) ?? 0) + v.variable.size);
    }
    for (const info of summary.layers) {
      const layer = model.getLayer(blockOutputLayerName(spec, info.name));
      expect([info.name, layer.outputShape]).toEqual([info.name, [null, ...info.outputShape]]);
      expect([info.name, counts.get(info.name) ?? 0]).toEqual([info.name, info.parameterCount]);
    }
    expect(model.countParams()).toBe(summary.parameterCount);
    expect(model.outputs[0]?.shape).toEqual([null, spec.labels]);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('uses Keras names and layouts: conv kernels [k, k, in, filters], no bias under batch norm', () => {
    const model = buildModel(MIXED, 1);
    const shapes = Object.fromEntries(modelVariables(model).map((v) => [v.name, v.variable.shape]));
    expect(shapes['conv1/kernel']).toEqual([3, 3, 2, 4]);
    expect(shapes['conv1/bias']).toBeUndefined();
    expect(shapes['conv1_bn/moving_variance']).toEqual([4]);
    expect(shapes['conv2/bias']).toEqual([3]);
    expect(shapes['classifier/kernel']).toEqual([6, 3]);
    const trainable = modelVariables(model)
      .filter((v) => !v.trainable)
      .map((v) => v.name);
    const imported = buildModel(IMPORTED, 1);
    const importedShapes = Object.fromEntries(
      modelVariables(imported).map((v) => [v.name, v.variable.shape]),
    );
    expect(importedShapes['conv1/bias']).toEqual([4]);
    expect(importedShapes['conv1_bn/gamma']).toEqual([4]);
    expect(importedShapes['conv2/bias']).toBeUndefined();
    expect(imported.getLayer('conv1_pad').outputShape).toEqual([null, 14, 18, 3]);
    imported.dispose();
    expect(trainable).toEqual([
      'conv1_bn/moving_mean',
      'conv1_bn/moving_variance',
      'conv3_bn/moving_mean',
      'conv3_bn/moving_variance',
    ]);
    model.dispose();
  });

  it('initialises deterministically from the seed', async () => {
    const a = buildModel(MIXED, 3);
    const b = buildModel(MIXED, 3);
    const c = buildModel(MIXED, 4);
    const [wa, wb, wc] = await Promise.all([a, b, c].map((m) => readVariables(m)));
    expect(wb).toEqual(wa);
    const kernel = (w: typeof wa) => w?.find((v) => v.name === 'conv1/kernel')?.values;
    expect(kernel(wc)).not.toEqual(kernel(wa));
    // He-normal: std sqrt(2 / fanIn) = sqrt(2 / 18) for conv1 (a truncated normal is a bit narrower).
    const k = kernel(wa) ?? new Float32Array();
    const std = Math.sqrt(k.reduce((s, x) => s + x * x, 0) / k.length);
    expect(std).toBeGreaterThan(0.15);
    expect(std).toBeLessThan(0.5);
    // Checkpoint round trip through writeVariables.
    writeVariables(c, wa ?? []);
    expect(await readVariables(c)).toEqual(wa);
    [a, b, c].forEach((m) => m.dispose());
  });

  it('refuses weights whose shapes do not match, naming the variable', () => {
    const model = buildModel(MIXED, 1);
    const wrong = modelVariables(model).map((v) => ({
      name: v.name,
      shape: v.name === 'conv1/kernel' ? [1] : v.variable.shape,
      values: new Float32Array(v.name === 'conv1/kernel' ? 1 : v.variable.size),
    }));
    expect(() => writeVariables(model, wrong)).toThrow(/conv1\/kernel has shape \[3, 3, 2, 4\]/);
    model.dispose();
  });
});

describe('buildProbeModel', () => {
  it('returns every conv layer after batch norm and activation, sharing the weights', () => {
    const model = buildModel(MIXED, 5);
    const convs = summarize(MIXED).convLayerIndices.map(
      (i) => summarize(MIXED).layers[i]?.name ?? '',
    );
    const probe = buildProbeModel(model, MIXED, [...convs, 'classifier']);
    const before = tf.memory().numTensors;
    const x = tf.randomNormal([2, 9, 9, 2], 0, 1, 'float32', 11);
    const outs = probe.predict(x) as tf.Tensor[];
    expect(outs.map((o) => o.shape)).toEqual([
      [2, 9, 9, 4],
      [2, 7, 7, 3],
      [2, 3, 3, 5],
      [2, 3],
    ]);
    // conv1 and conv3 end in ReLU; conv2 is linear, so it has negative values.
    const min = (t: tf.Tensor | undefined): number => tf.tidy(() => t?.min().dataSync()[0] ?? NaN);
    expect(min(outs[0])).toBeGreaterThanOrEqual(0);
    expect(min(outs[1])).toBeLessThan(0);
    const logits = model.predict(x) as tf.Tensor;
    expect(Array.from(outs[3]?.dataSync() ?? [])).toEqual(Array.from(logits.dataSync()));
    tf.dispose([x, logits, ...outs]);
    // Disposing the probe must not free the base model's weights.
    probe.dispose();
    const again = tf.tidy(() => (model.predict(tf.zeros([1, 9, 9, 2])) as tf.Tensor).dataSync());
    expect(again).toHaveLength(3);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});

describe('SeededDropout', () => {
  it('draws the mask from the step seed in training and is the identity in inference', () => {
    const model = buildModel(MIXED, 5);
    const x = tf.ones([4, 9, 9, 2]);
    const run = (seed: number): number[] => {
      setDropoutSeed(model, seed);
      return tf.tidy(() =>
        Array.from((model.apply(x, { training: true }) as tf.Tensor).dataSync()),
      );
    };
    expect(run(1)).toEqual(run(1));
    expect(run(1)).not.toEqual(run(2));
    const inference = tf.tidy(() => Array.from((model.predict(x) as tf.Tensor).dataSync()));
    expect(tf.tidy(() => Array.from((model.predict(x) as tf.Tensor).dataSync()))).toEqual(
      inference,
    );
    x.dispose();
    model.dispose();
  });
});
