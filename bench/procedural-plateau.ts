/**
 * Why the README's first training example stayed at chance, measured on the engine: the tour's
 * `small` VGG (conv 8, pool, conv 16, pool) on 4-label 16 x 16 procedural data, trained with
 * METHOD.md's defaults except where a case says otherwise, under generator versions 1 and 2.
 *
 * Per case: test SR after the last epoch; the fraction of the last conv layer's ReLU outputs
 * that are positive on the test images (inference mode) after epoch 1 and at the end, which
 * falls towards 0 when that layer has been switched off; the SR of a linear readout (a probe
 * with default options) of conv1 and conv2; training seconds.
 *
 * Run: npm run bench:plateau [-- substring ...] (only the cases whose name contains one of the
 * substrings). All cases take 3-8 minutes on 2 cores; FILTERSCOPE_THREADS sets the wasm threads.
 */
import * as tf from '@tensorflow/tfjs';
import type { ArchitectureSpec } from '../src/architecture/index.js';
import { normalizeInto } from '../src/data/normalize.js';
import { generateProcedural, type ProceduralOptions } from '../src/data/procedural.js';
import type { LoadedDataset } from '../src/data/types.js';
import { initBackend } from '../src/engine/backend.js';
import { decodeCheckpoint } from '../src/contract/checkpoint.js';
import { buildModel, buildProbeModel, writeVariables } from '../src/engine/model.js';
import { probe } from '../src/engine/probe.js';
import { planProbe } from '../src/contract/probe-options.js';
import { MessageType, type OutboundMessage } from '../src/contract/protocol.js';
import {
  resolveHyperparameters,
  type TrainHyperparametersInput,
} from '../src/contract/hyperparameters.js';
import { train } from '../src/engine/train.js';

const SMALL: ArchitectureSpec = {
  name: 'small',
  inputShape: [16, 16, 3],
  labels: 4,
  blocks: [
    { kind: 'conv', filters: 8 },
    { kind: 'maxPool' },
    { kind: 'conv', filters: 16 },
    { kind: 'maxPool' },
  ],
};

interface Case {
  readonly name: string;
  readonly data: ProceduralOptions;
  readonly hp: TrainHyperparametersInput;
}

const OLD_EXAMPLE = { imageSize: 16, labels: 4, trainSize: 2000, testSize: 500 };
const NEW_EXAMPLE = { imageSize: 16, labels: 4, trainSize: 4000, testSize: 500 };
const CASES: readonly Case[] = [
  // The README's example before the fix: 2000 examples, batch 64, 10 epochs, on version 1.
  {
    name: 'v1 old-example',
    data: { ...OLD_EXAMPLE, generatorVersion: 1 },
    hp: { epochs: 10, batchSize: 64 },
  },
  {
    name: 'v1 old-example aug-none',
    data: { ...OLD_EXAMPLE, generatorVersion: 1 },
    hp: { epochs: 10, batchSize: 64, augmentation: 'none' },
  },
  {
    name: 'v1 old-example lr-0.01',
    data: { ...OLD_EXAMPLE, generatorVersion: 1 },
    hp: { epochs: 10, batchSize: 64, learningRate: 0.01 },
  },
  // The example after the fix (4000 examples, batch 128, 15 epochs), on both versions.
  { name: 'v1 new-example', data: { ...NEW_EXAMPLE, generatorVersion: 1 }, hp: { epochs: 15 } },
  {
    name: 'v1 new-example aug-none',
    data: { ...NEW_EXAMPLE, generatorVersion: 1 },
    hp: { epochs: 15, augmentation: 'none' },
  },
  {
    name: 'v2 old-example',
    data: { ...OLD_EXAMPLE, generatorVersion: 2 },
    hp: { epochs: 10, batchSize: 64 },
  },
  { name: 'v2 new-example', data: { ...NEW_EXAMPLE, generatorVersion: 2 }, hp: { epochs: 15 } },
  {
    name: 'v2 new-example aug-none',
    data: { ...NEW_EXAMPLE, generatorVersion: 2 },
    hp: { epochs: 15, augmentation: 'none' },
  },
];

/** Fraction of the last conv layer's ReLU outputs above 0 on the test split, inference mode. */
function activeFraction(checkpoint: Uint8Array, dataset: LoadedDataset): number {
  const saved = decodeCheckpoint(checkpoint);
  const model = buildModel(SMALL, 1);
  try {
    writeVariables(model, saved.weights);
    const conv2 = buildProbeModel(model, SMALL, ['conv2']);
    const { images, count } = dataset.test;
    const inputs = normalizeInto(images, saved.meta.normalization, new Float32Array(images.length));
    return tf.tidy(() => {
      const x = tf.tensor4d(inputs, [count, ...SMALL.inputShape]);
      const out = conv2.predict(x) as tf.Tensor;
      return tf.mean(tf.cast(tf.greater(out, 0), 'float32')).dataSync()[0] ?? NaN;
    });
  } finally {
    model.dispose();
  }
}

async function runCase(c: Case): Promise<string> {
  const dataset = generateProcedural(c.data);
  const checkpoints: Uint8Array[] = [];
  const testSR: number[] = [];
  const started = performance.now();
  await train(
    {
      architecture: SMALL,
      dataset: { name: 'procedural', options: { ...c.data } },
      hyperparameters: resolveHyperparameters(c.hp, { inputShape: SMALL.inputShape }),
    },
    dataset,
    {
      post: (m: OutboundMessage) => {
        if (m.type === MessageType.Checkpoint) checkpoints.push(m.bytes);
        if (m.type === MessageType.Epoch) testSR.push(m.metrics.testSR);
      },
      onMessage: () => () => undefined,
    },
    { stepIntervalMs: 1e9 },
  );
  const seconds = (performance.now() - started) / 1000;
  const first = checkpoints[0]!;
  const last = checkpoints.at(-1)!;
  const probed = await probe(last, dataset, planProbe({}, { spec: SMALL }), () => undefined);
  const sr = (layer: string) =>
    probed.layers.find((l) => l.layer === layer)?.successRate.toFixed(3) ?? '?';
  return [
    c.name.padEnd(24),
    testSR.at(-1)!.toFixed(3).padStart(7),
    activeFraction(first, dataset).toFixed(2).padStart(10),
    activeFraction(last, dataset).toFixed(2).padStart(10),
    sr('conv1').padStart(9),
    sr('conv2').padStart(9),
    seconds.toFixed(0).padStart(8),
  ].join(' ');
}

async function main(): Promise<void> {
  const threads = process.env.FILTERSCOPE_THREADS
    ? Number(process.env.FILTERSCOPE_THREADS)
    : undefined;
  const backend = await initBackend('wasm', undefined, threads ? { threads } : {});
  const filters = process.argv.slice(2);
  const cases = CASES.filter(
    (c) => filters.length === 0 || filters.some((f) => c.name.includes(f)),
  );
  console.log(`backend ${backend.device}; small VGG on procedural 16x16, 4 labels (chance 0.25)`);
  console.log('case                     test SR  active ep1 active end conv1 SR conv2 SR train s');
  for (const c of cases) console.log(await runCase(c));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
