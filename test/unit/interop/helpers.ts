import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { ArchitectureSpec } from '../../../src/architecture/index.js';
import type { NamedArray } from '../../../src/contract/tensors.js';
import { buildModel, writeVariables } from '../../../src/engine/model.js';

export const FIXTURES = join(__dirname, '../../fixtures/interop');

export const fixture = (path: string): Uint8Array =>
  new Uint8Array(readFileSync(join(FIXTURES, path)));

/** Inputs and reference outputs written next to a fixture by the script that made it. */
export interface Reference {
  readonly source: string;
  readonly inputs: number[];
  readonly logits: number[][];
  readonly outputs?: number[][];
  readonly inputShapeNCHW?: [number, number, number, number];
  readonly inputShapeNHWC?: [number, number, number, number];
}

export const reference = (path: string): Reference =>
  JSON.parse(readFileSync(join(FIXTURES, path), 'utf8')) as Reference;

/** NCHW values -> NHWC. */
export function nchwToNhwc(
  values: ArrayLike<number>,
  [n, c, h, w]: readonly number[],
): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < n!; i++)
    for (let ch = 0; ch < c!; ch++)
      for (let y = 0; y < h!; y++)
        for (let x = 0; x < w!; x++)
          out[((i * h! + y) * w! + x) * c! + ch] = values[((i * c! + ch) * h! + y) * w! + x]!;
  return out;
}

/** NHWC values -> NCHW. */
export function nhwcToNchw(
  values: ArrayLike<number>,
  [n, h, w, c]: readonly number[],
): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < n!; i++)
    for (let y = 0; y < h!; y++)
      for (let x = 0; x < w!; x++)
        for (let ch = 0; ch < c!; ch++)
          out[((i * c! + ch) * h! + y) * w! + x] = values[((i * h! + y) * w! + x) * c! + ch]!;
  return out;
}

/** filterscope's logits: buildModel + writeVariables, inference mode, on the current backend. */
export function filterscopeLogits(
  spec: ArchitectureSpec,
  weights: readonly NamedArray[],
  nhwc: Float32Array,
): number[][] {
  const model = buildModel(spec, 1);
  try {
    writeVariables(model, weights);
    const count = nhwc.length / spec.inputShape.reduce((a, b) => a * b, 1);
    return tf.tidy(() => {
      const out = model.predict(tf.tensor(nhwc, [count, ...spec.inputShape])) as tf.Tensor;
      return out.arraySync() as number[][];
    });
  } finally {
    model.dispose();
  }
}

/** max |a - b| / max |b|: the difference relative to the reference logits' scale. */
export function relativeDifference(a: number[][], b: number[][]): number {
  let diff = 0;
  let scale = 0;
  b.forEach((row, i) =>
    row.forEach((v, j) => {
      diff = Math.max(diff, Math.abs((a[i]?.[j] ?? NaN) - v));
      scale = Math.max(scale, Math.abs(v));
    }),
  );
  return Number.isNaN(diff) ? Infinity : diff / scale;
}
