import * as tf from '@tensorflow/tfjs';
import type { ArchitectureSpec } from '../../../src/architecture/index.js';
import type { NamedArray } from '../../../src/contract/tensors.js';
import { Random } from '../../../src/data/random.js';
import { buildModel, readVariables } from '../../../src/engine/model.js';

/**
 * Specs with every block and setting the formats carry, on non-square inputs so that a wrong
 * flatten order cannot pass: explicit and asymmetric padding, a conv with bias and batch norm,
 * a linear conv without either, both poolings, dropout, hidden dense with and without ReLU.
 */
export const FLAT_SPEC: ArchitectureSpec = {
  name: 'interop flat',
  inputShape: [12, 16, 3],
  labels: 6,
  blocks: [
    { kind: 'conv', filters: 5 },
    {
      kind: 'conv',
      filters: 7,
      stride: 2,
      padding: { top: 1, bottom: 1, left: 1, right: 1 },
      bias: true,
    },
    { kind: 'maxPool' },
    { kind: 'conv', filters: 4, kernelSize: 1, batchNorm: false, activation: 'linear' },
    {
      kind: 'conv',
      filters: 6,
      kernelSize: 2,
      padding: { top: 0, bottom: 1, left: 1, right: 0 },
      batchNorm: false,
      bias: false,
    },
    { kind: 'avgPool', poolSize: 1 },
    { kind: 'flatten' },
    { kind: 'dropout', rate: 0.25 },
    { kind: 'dense', units: 10 },
    { kind: 'dense', units: 8, activation: 'linear' },
  ],
};

/** Ends in global average pooling; a 'valid' conv, max-pooling with stride 1. */
export const GAP_SPEC: ArchitectureSpec = {
  name: 'interop gap',
  inputShape: [10, 14, 1],
  labels: 3,
  blocks: [
    { kind: 'conv', filters: 4, padding: 'valid' },
    { kind: 'maxPool', poolSize: 3, stride: 1 },
    { kind: 'conv', filters: 6, kernelSize: 5, stride: 2 },
    { kind: 'globalAvgPool' },
    { kind: 'dropout', rate: 0.1 },
    { kind: 'dense', units: 5 },
  ],
};

/**
 * The spec's variables as buildModel initialises them, with batch norm's gamma, beta and running
 * statistics and every bias drawn at random so that no layout mistake hides behind a constant.
 */
export async function randomWeights(spec: ArchitectureSpec, seed: number): Promise<NamedArray[]> {
  const model = buildModel(spec, seed);
  const values = await readVariables(model);
  model.dispose();
  const random = new Random(seed);
  return values.map((v) => {
    const kind = v.name.split('/')[1];
    if (kind === 'kernel') return v;
    const draw = (): number =>
      kind === 'moving_variance'
        ? 0.2 + random.next() * 2
        : kind === 'gamma'
          ? 0.5 + random.next()
          : random.next() * 2 - 1;
    return { ...v, values: Float32Array.from(v.values, draw) };
  });
}

/** Standard normal-ish inputs, NHWC. */
export function randomInputs(spec: ArchitectureSpec, count: number, seed: number): Float32Array {
  return tf
    .tidy(
      () =>
        tf
          .randomNormal([count, ...spec.inputShape], 0, 1, 'float32', seed)
          .dataSync() as Float32Array,
    )
    .slice();
}
