/**
 * Why a probe head's kernel gradient is `matMul(transpose(x), dLogits)`: on the wasm backend a
 * `matMul` with `transposeA` leaves XNNPACK for a slow path. Times the head's three products at
 * one batch of conv1 features of VGG-6 (128 x 12,544) and 30 outputs, in one run.
 * Run: npm run bench:matmul. Prints a table.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/engine/backend.js';

const [N, D, C, REPEATS] = [128, 12_544, 30, 20];

async function msPerCall(f: () => tf.Tensor): Promise<number> {
  for (let i = 0; i < 3; i++) tf.dispose(f());
  const started = performance.now();
  for (let i = 0; i < REPEATS; i++) {
    const out = f();
    await out.data();
    out.dispose();
  }
  return (performance.now() - started) / REPEATS;
}

async function main(): Promise<void> {
  const backend = await initBackend((process.env.FILTERSCOPE_BACKEND as never) ?? 'wasm');
  const x = tf.randomNormal([N, D]);
  const dLogits = tf.randomNormal([N, C]);
  const kernel = tf.randomNormal([D, C]);
  const rows: [string, number][] = [
    ['forward matMul(x, kernel)', await msPerCall(() => tf.matMul(x, kernel))],
    ['gradient matMul(x, dLogits, transposeA)', await msPerCall(() => tf.matMul(x, dLogits, true))],
    [
      'gradient matMul(transpose(x), dLogits)',
      await msPerCall(() => tf.tidy(() => tf.matMul(tf.transpose(x), dLogits))),
    ],
  ];
  console.log(
    `matMul at [${N}, ${D}] features, ${C} outputs, ${backend.name}, ${REPEATS} calls each`,
  );
  console.log('| product | ms per call |\n| --- | --- |');
  for (const [name, ms] of rows) console.log(`| ${name} | ${ms.toFixed(2)} |`);
}

void main();
