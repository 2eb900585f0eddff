import * as tf from '@tensorflow/tfjs';
import type { ArchitectureSpec } from '../../../src/architecture/index.js';
import { normalizeInto } from '../../../src/data/normalize.js';
import { Random } from '../../../src/data/random.js';
import type { LoadedDataset } from '../../../src/data/types.js';
import { initBackend } from '../../../src/engine/backend.js';
import { decodeCheckpoint } from '../../../src/contract/checkpoint.js';
import { buildModel, buildProbeModel, writeVariables } from '../../../src/engine/model.js';
import type { ProbeEvent } from '../../../src/contract/probe-events.js';
import { planProbe, type ProbeOptions } from '../../../src/contract/probe-options.js';
import { resolveHyperparameters } from '../../../src/contract/hyperparameters.js';
import { resolveProbePoints } from '../../../src/contract/probe-points.js';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProbeEnvironment, ProbeResult } from '../../../src/engine/probe.js';
import { probe } from '../../../src/engine/probe.js';
import type { OutboundMessage, TrainJobSpec } from '../../../src/contract/protocol.js';
import { MessageType } from '../../../src/contract/protocol.js';
import { train } from '../../../src/engine/train.js';

/** Three conv layers, pooling after the first two. */
const NET: ArchitectureSpec = {
  name: 'probe-tiny',
  inputShape: [8, 8, 3],
  labels: 3,
  blocks: [
    { kind: 'conv', filters: 4 },
    { kind: 'maxPool' },
    { kind: 'conv', filters: 6 },
    { kind: 'maxPool' },
    { kind: 'conv', filters: 5 },
  ],
};
const C = 3;

/** Label k: channel k brighter on average, with noise; linearly readable from any layer. */
function dataset(train: number, test: number, seed = 1): LoadedDataset {
  const rng = new Random(seed);
  const split = (count: number) => {
    const images = new Uint8Array(count * 8 * 8 * 3);
    const labels = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      const label = rng.int(3);
      labels[i] = label;
      for (let p = 0; p < 64; p++) {
        for (let c = 0; c < 3; c++) {
          images[(i * 64 + p) * 3 + c] = Math.floor(rng.uniform(0, 150) + (c === label ? 100 : 0));
        }
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

const DATA = dataset(48, 30);
const BATCH = 16;
const TRAIN_BATCHES = 3; // 48 / 16
const TEST_BATCHES = 2; // ceil(30 / 16)
let checkpoint: Uint8Array;

beforeAll(async () => {
  await initBackend('wasm', undefined, { threads: 1 });
  const job: TrainJobSpec = {
    architecture: NET,
    dataset: { name: 'synthetic' },
    hyperparameters: resolveHyperparameters(
      { epochs: 2, batchSize: BATCH, seed: 3, learningRate: 0.05 },
      { inputShape: NET.inputShape },
    ),
  };
  const messages: OutboundMessage[] = [];
  await train(job, DATA, {
    post: (m) => messages.push(m),
    onMessage: () => () => undefined,
  });
  const last = messages.filter((m) => m.type === MessageType.Checkpoint).pop();
  if (last?.type !== MessageType.Checkpoint) throw new Error('training wrote no checkpoint');
  checkpoint = last.bytes;
});

// One head per layer: the single-head semantics; replicates have a test of their own.
const BASE: ProbeOptions = { headEpochs: 2, batchSize: BATCH, seed: 7, replicates: 1 };

async function run(
  options: ProbeOptions,
  signal?: AbortSignal,
  onEvent?: (e: ProbeEvent) => void,
  environment?: ProbeEnvironment,
): Promise<{ result: ProbeResult; events: ProbeEvent[] }> {
  const events: ProbeEvent[] = [];
  const result = await probe(
    checkpoint,
    DATA,
    planProbe({ ...BASE, ...options }, { spec: NET }),
    (e) => {
      // Events cross threads and NOTIFY: they must survive JSON unchanged.
      expect(JSON.parse(JSON.stringify(e))).toEqual(e);
      events.push(e);
      onEvent?.(e);
    },
    signal,
    environment,
  );
  return { result, events };
}

describe('probe points', () => {
  it('reads after the following pooling blocks by default, at the conv output without them', () => {
    const pooled = resolveProbePoints(NET);
    expect(pooled.map((p) => [p.layer, p.source, p.shape, p.positions, p.filters])).toEqual([
      ['conv1', 'maxPool1', [4, 4, 4], 16, 4],
      ['conv2', 'maxPool2', [2, 2, 6], 4, 6],
      ['conv3', 'conv3', [2, 2, 5], 4, 5],
    ]);
    const raw = resolveProbePoints(NET, ['conv1', 'conv2'], false);
    expect(raw.map((p) => [p.source, p.shape, p.extraPoolings])).toEqual([
      ['conv1', [8, 8, 4], 0],
      ['conv2', [4, 4, 6], 0],
    ]);
  });

  it('adds 2x2 max-pooling until the flattened point fits maxFeatures and records it', () => {
    const [conv1, conv2] = resolveProbePoints(NET, ['conv1', 'conv2'], false, 40);
    expect(conv1).toMatchObject({ shape: [2, 2, 4], extraPoolings: 2, features: 16 });
    expect(conv2).toMatchObject({ shape: [2, 2, 6], extraPoolings: 1, features: 24 });
  });

  it('rejects a layer that is not a conv layer, naming the conv layers', () => {
    expect(() => resolveProbePoints(NET, ['maxPool1'])).toThrow(
      /"maxPool1" is not a conv layer of probe-tiny \(conv layers: conv1, conv2, conv3\)/,
    );
  });
});

describe('probe', () => {
  it('probes every conv layer: shapes, one matrix of C x C per filter, events in order, no leaks', async () => {
    const before = tf.memory().numTensors;
    const { result, events } = await run({ headEpochs: 3 });
    expect(tf.memory().numTensors).toBe(before);
    expect(result.status).toBe('finished');
    expect(result.backend).toBe('wasm');
    expect(result.featuresCached).toBe(true);
    expect(result.layers.map((l) => [l.layer, l.shape])).toEqual([
      ['conv1', { positions: 16, filters: 4, labels: C }],
      ['conv2', { positions: 4, filters: 6, labels: C }],
      ['conv3', { positions: 4, filters: 5, labels: C }],
    ]);
    for (const layer of result.layers) {
      const { positions: P, filters: F } = layer.shape;
      expect(layer.head.kernel).toHaveLength(P * F * C);
      expect(layer.head.bias).toHaveLength(C);
      expect(layer.matrices).toHaveLength(F);
      for (const m of layer.matrices) expect(m).toHaveLength(C * C);
      expect(layer.filters.map((f) => f.index)).toEqual([...Array(F).keys()]);
      expect(layer.history.map((h) => h.epoch)).toEqual([1, 2, 3]);
      // Cosine over 3 epochs from 0.01: 0.01, 0.0075, 0.0025.
      expect(layer.history.map((h) => h.learningRate)).toEqual([
        0.01,
        expect.closeTo(0.0075, 12),
        expect.closeTo(0.0025, 12),
      ]);
      expect(layer.successRate).toBe(layer.history[2]?.testSR);
      expect(layer.afcc.srBefore).toBe(layer.successRate);
      expect(layer.afcc.total).toBe(P * F * C);
      expect(layer.aggregates.filters).toBe(F);
    }

    expect(events[0]?.type).toBe('started');
    // The frozen pass reports its progress during the first epoch: train, then test.
    const progress = events.filter((e) => e.type === 'features');
    expect(progress.at(0)).toMatchObject({ split: 'train' });
    expect(progress.filter((e) => e.done === e.total).map((e) => e.split)).toEqual([
      'train',
      'test',
    ]);
    for (const layer of result.layers) {
      const mine = events.filter(
        (e) => e.type !== 'started' && e.type !== 'features' && e.layer === layer.layer,
      );
      expect(mine.map((e) => e.type)).toEqual([
        'headEpoch',
        'headEpoch',
        'headEpoch',
        'layerSR',
        'filters',
        'layerDone',
      ]);
      const filters = mine.flatMap((e) => (e.type === 'filters' ? e.filters : []));
      expect(filters).toEqual(layer.filters);
      expect(filters[0]?.matrix).toEqual(Array.from(layer.matrices[0] ?? []));
      expect(mine[mine.length - 1]).toMatchObject({
        type: 'layerDone',
        afcc: layer.afcc,
        probePoint: { shape: layer.probePoint.shape, extraPoolings: 0 },
      });
    }
    // Heads train together: every layer's epoch e comes before any layer's epoch e + 1, and
    // every layerSR before any layer's filters.
    const kinds = events
      .filter((e) => e.type !== 'features')
      .map((e) => (e.type === 'headEpoch' ? `${e.type}${e.epoch}` : e.type));
    expect(kinds.slice(0, 12)).toEqual([
      'started',
      ...Array(3).fill('headEpoch1'),
      ...Array(3).fill('headEpoch2'),
      ...Array(3).fill('headEpoch3'),
      'layerSR',
      'layerSR',
    ]);
    expect(kinds[12]).toBe('layerSR');
  });

  it('heads learn: the trained net is read above chance at every layer', async () => {
    const { result } = await run({ headEpochs: 6, learningRate: 0.05 });
    for (const layer of result.layers) {
      expect(layer.successRate).toBeGreaterThan(0.6);
      expect(layer.history[5]?.trainLoss).toBeLessThan(layer.history[0]?.trainLoss ?? 0);
    }
  });

  it('runs the frozen network once per batch for all layers; with the cache only in the first pass', async () => {
    const uncached = await run({ featureCacheBytes: 0 });
    const cached = await run({});
    expect(uncached.result.featuresCached).toBe(false);
    expect(uncached.result.layers).toHaveLength(3);
    // 2 head epochs of train + test batches; phase 3 shares the last test pass; AFCC one more.
    expect(uncached.result.forwardCalls).toBe(2 * (TRAIN_BATCHES + TEST_BATCHES) + TEST_BATCHES);
    expect(cached.result.forwardCalls).toBe(TRAIN_BATCHES + TEST_BATCHES);
    // Features that do not fit in memory spill to disk: still one pass.
    const directory = mkdtempSync(join(tmpdir(), 'filterscope-spill-'));
    try {
      const disk = { diskBytes: 1 << 30, directory };
      const spilled32 = await run({ featureCacheBytes: 0 }, undefined, undefined, {
        ...disk,
        float16: false,
      });
      const spilled16 = await run({ featureCacheBytes: 0 }, undefined, undefined, {
        ...disk,
        float16: true,
      });
      expect(spilled32.result.timings.featureStore).toBe('disk-float32');
      expect(spilled16.result.timings.featureStore).toBe('disk-float16');
      expect(spilled32.result.forwardCalls).toBe(TRAIN_BATCHES + TEST_BATCHES);
      expect(spilled16.result.forwardCalls).toBe(TRAIN_BATCHES + TEST_BATCHES);
      // float32 on disk is the memory cache's numbers exactly; float16 stays close.
      spilled32.result.layers.forEach((layer, l) =>
        expect(layer.successRate).toBe(cached.result.layers[l]!.successRate),
      );
      spilled16.result.layers.forEach((layer, l) =>
        expect(Math.abs(layer.successRate - cached.result.layers[l]!.successRate)).toBeLessThan(
          0.1,
        ),
      );
      // The files go with the probe.
      expect(readdirSync(directory)).toEqual([]);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
    // The cache changes the cost, not the numbers.
    uncached.result.layers.forEach((layer, l) => {
      const other = cached.result.layers[l];
      expect(other?.successRate).toBe(layer.successRate);
      expect(other?.afcc).toEqual(layer.afcc);
      layer.head.kernel.forEach((w, i) => expect(other?.head.kernel[i]).toBeCloseTo(w, 6));
    });
  });

  it('trains replicates from their own seeds: SR is their mean with its spread; the first replicate is the single head', async () => {
    const single = await run({});
    const { result, events } = await run({ replicates: 3 });
    result.layers.forEach((layer, l) => {
      const one = single.result.layers[l]!;
      // Replicate 0 takes the single head's seed: the same head, history and filters.
      expect(layer.history).toEqual(one.history);
      expect(layer.filters).toEqual(one.filters);
      expect(layer.afcc).toEqual(one.afcc);
      const values = layer.replicates.successRate.values as number[];
      expect(layer.replicates.replicates).toBe(3);
      expect(values).toHaveLength(3);
      expect(values[0]).toBe(one.successRate);
      expect(layer.successRate).toBeCloseTo(values.reduce((s, v) => s + v, 0) / 3, 12);
      const mean = layer.successRate;
      const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / 2);
      expect(layer.replicates.successRate.std).toBeCloseTo(sd, 12);
      expect(layer.replicates.snr.values).toHaveLength(3);
      expect(layer.replicates.snr.values[0]).toBe(layer.aggregates.snr);
    });
    // Other replicates' epochs are not streamed; the layer's SR event carries the mean.
    expect(events.filter((e) => e.type === 'headEpoch')).toHaveLength(3 * 2);
    const streamed = events.filter((e) => e.type === 'layerSR');
    expect(streamed.map((e) => e.successRate)).toEqual(result.layers.map((l) => l.successRate));
  });

  it('afterPooling and maxFeatures change the probe point and the head', async () => {
    const { result, events } = await run({
      layers: ['conv1'],
      afterPooling: false,
      maxFeatures: 100,
      headEpochs: 1,
    });
    const [conv1] = result.layers;
    expect(result.layers).toHaveLength(1);
    expect(conv1?.probePoint).toMatchObject({ shape: [4, 4, 4], extraPoolings: 1, poolings: [] });
    expect(conv1?.head.kernel).toHaveLength(16 * 4 * C);
    expect(events[events.length - 1]).toMatchObject({
      type: 'layerDone',
      probePoint: { shape: [4, 4, 4], extraPoolings: 1 },
    });
    const unpooled = await run({ layers: ['conv1'], afterPooling: false, headEpochs: 1 });
    expect(unpooled.result.layers[0]?.shape.positions).toBe(64);
  });

  it('correlation matrices, SR and ablation match a direct computation from the head and activations', async () => {
    const { result } = await run({ layers: ['conv2'], maxTestExamples: 25 });
    const layer = result.layers[0];
    if (!layer) throw new Error('no layer');
    expect(result.testExamples).toBe(25);
    const { positions: P, filters: F } = layer.shape;
    const n = 25;
    const saved = decodeCheckpoint(checkpoint);
    const model = buildModel(NET, 0);
    writeVariables(model, saved.weights);
    const probeModel = buildProbeModel(model, NET, ['maxPool2']);
    const pixels = 8 * 8 * 3;
    const inputs = normalizeInto(
      DATA.test.images.subarray(0, n * pixels),
      saved.meta.normalization,
      new Float32Array(n * pixels),
    );
    const out = tf.tidy(() => probeModel.predict(tf.tensor4d(inputs, [n, 8, 8, 3])) as tf.Tensor);
    const a = out.dataSync();
    out.dispose();
    model.dispose();
    const labels = DATA.test.labels.subarray(0, n);
    const W = layer.head.kernel;
    const b = layer.head.bias;
    const counts = [0, 0, 0];
    for (const label of labels) counts[label]!++;
    const correctWithout = new Array<number>(F).fill(0);
    let correct = 0;
    const M = Array.from({ length: F }, () => new Float64Array(C * C));
    for (let x = 0; x < n; x++) {
      const label = labels[x]!;
      const h = Array.from({ length: F }, () => new Float64Array(C));
      for (let p = 0; p < P; p++) {
        for (let k = 0; k < F; k++) {
          for (let j = 0; j < C; j++)
            h[k]![j]! += W[(p * F + k) * C + j]! * a[x * P * F + p * F + k]!;
        }
      }
      const logits = Array.from(
        { length: C },
        (_, j) => b[j]! + h.reduce((s, hk) => s + hk[j]!, 0),
      );
      const argmax = (v: number[]) => v.indexOf(Math.max(...v));
      if (argmax(logits) === label) correct++;
      for (let k = 0; k < F; k++) {
        for (let j = 0; j < C; j++) M[k]![label * C + j]! += h[k]![j]! / counts[label]!;
        if (argmax(logits.map((z, j) => z - h[k]![j]!)) === label) correctWithout[k]!++;
      }
    }
    expect(layer.successRate).toBeCloseTo(correct / n, 10);
    for (let k = 0; k < F; k++) {
      layer.matrices[k]!.forEach((v, q) => expect(Math.abs(v - M[k]![q]!)).toBeLessThan(1e-4));
      expect(layer.filters[k]?.ablation).toBeCloseTo((correct - correctWithout[k]!) / n, 10);
    }
  });

  it('takes the SGD step of the softmax cross-entropy gradient (checked against autodiff)', async () => {
    // One full batch, no momentum or decay: K(lr) = K0 - lr * g, so two rates give K0 and g.
    const options = {
      layers: ['conv3'],
      headEpochs: 1,
      batchSize: 48,
      momentum: 0,
      weightDecay: 0,
    };
    const a = (await run({ ...options, learningRate: 0.01 })).result.layers[0];
    const second = (await run({ ...options, learningRate: 0.02 })).result.layers[0];
    if (!a || !second) throw new Error('expected one layer');
    const g = a.head.kernel.map((k, i) => (k - second.head.kernel[i]!) / 0.01);
    const k0 = a.head.kernel.map((k, i) => k + 0.01 * g[i]!);
    const saved = decodeCheckpoint(checkpoint);
    const model = buildModel(NET, 0);
    writeVariables(model, saved.weights);
    const inputs = normalizeInto(
      DATA.train.images,
      saved.meta.normalization,
      new Float32Array(DATA.train.images.length),
    );
    const expected = tf.tidy(() => {
      const out = buildProbeModel(model, NET, ['conv3']).predict(
        tf.tensor4d(inputs, [48, 8, 8, 3]),
      );
      const x = tf.reshape(out as tf.Tensor, [48, 20]);
      const y = tf.oneHot(tf.tensor1d(DATA.train.labels, 'int32'), C);
      const loss = (k: tf.Tensor) =>
        tf.neg(tf.mean(tf.sum(tf.mul(y, tf.logSoftmax(tf.matMul(x, k as tf.Tensor2D))), 1)));
      return tf
        .grad(loss)(tf.tensor2d(k0, [20, C]))
        .dataSync();
    });
    model.dispose();
    g.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThan(2e-4));
    expect(Math.max(...Array.from(g, Math.abs))).toBeGreaterThan(1e-3);
  });

  it('stops between batches when the signal aborts, and frees every tensor', async () => {
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    const { result, events } = await run(
      { featureCacheBytes: 0, headEpochs: 3 },
      controller.signal,
      (e) => {
        if (e.type === 'headEpoch') controller.abort();
      },
    );
    expect(tf.memory().numTensors).toBe(before);
    expect(result.status).toBe('cancelled');
    expect(result.layers).toEqual([]);
    // The first epoch's train and test passes, then nothing.
    expect(result.forwardCalls).toBe(TRAIN_BATCHES + TEST_BATCHES);
    expect(events.filter((e) => e.type === 'headEpoch')).toHaveLength(3);
    expect(events.some((e) => e.type === 'layerSR')).toBe(false);

    const early = await run({}, AbortSignal.abort());
    expect(early.result).toMatchObject({ status: 'cancelled', forwardCalls: 0 });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects bad options and a dataset of another shape, naming what it got', async () => {
    // Options are checked where they enter, when the probe is planned.
    await expect(run({ headEpochs: 0 })).rejects.toThrow(
      'headEpochs: must be an integer from 1 to 1000, got 0',
    );
    const grey = { ...DATA, inputShape: [8, 8, 1] as const };
    const plan = planProbe(BASE, { spec: NET });
    await expect(probe(checkpoint, grey, plan, () => undefined)).rejects.toThrow(
      /takes inputs of shape \[8, 8, 3\], dataset synthetic has \[8, 8, 1\]/,
    );
  });
});
