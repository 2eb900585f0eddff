import * as tf from '@tensorflow/tfjs';
import type { ArchitectureSpec } from '../../../src/architecture/index.js';
import { initBackend } from '../../../src/engine/backend.js';
import {
  registerWasmTrainingKernels,
  unregisterWasmTrainingKernels,
} from '../../../src/engine/kernels/index.js';
import { buildModel, modelVariables } from '../../../src/engine/model.js';

/**
 * The layers imports add (explicit zero padding, a conv bias with batch norm, global average
 * pooling) train on the wasm backend with filterscope's kernels as on the cpu backend:
 * gradients of a training-mode cross-entropy agree to max |wasm - cpu| / max |cpu| < 1e-4.
 */
const SPEC: ArchitectureSpec = {
  name: 'imported layers',
  inputShape: [12, 16, 3],
  labels: 3,
  blocks: [
    {
      kind: 'conv',
      filters: 5,
      stride: 2,
      padding: { top: 1, bottom: 1, left: 1, right: 1 },
      bias: true,
    },
    { kind: 'conv', filters: 4, kernelSize: 2, padding: { top: 0, bottom: 1, left: 1, right: 0 } },
    { kind: 'globalAvgPool' },
    { kind: 'dense', units: 6 },
  ],
};

beforeAll(async () => {
  await initBackend('wasm', undefined, { threads: 1 });
});

async function gradients(backend: 'cpu' | 'wasm'): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  // The gradient registry is global: the cpu reference uses the stock gradients.
  if (backend === 'cpu') unregisterWasmTrainingKernels();
  else registerWasmTrainingKernels();
  const model = buildModel(SPEC, 3);
  const variables = modelVariables(model)
    .filter((v) => v.trainable)
    .map((v) => v.variable);
  const out = tf.tidy(() => {
    const x = tf.randomNormal([4, ...SPEC.inputShape], 0, 1, 'float32', 5);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 1], 'int32'), SPEC.labels);
    const loss = (): tf.Scalar =>
      tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor);
    const { grads } = tf.variableGrads(loss, variables);
    return variables.map((v) => grads[v.name]!.dataSync().slice() as Float32Array);
  });
  model.dispose();
  return out;
}

it('trains explicit padding, conv bias + batch norm and global pooling on wasm as on cpu', async () => {
  const cpu = await gradients('cpu');
  const wasm = await gradients('wasm');
  let diff = 0;
  let scale = 0;
  cpu.forEach((g, i) =>
    g.forEach((v, j) => {
      diff = Math.max(diff, Math.abs(v - (wasm[i]?.[j] ?? NaN)));
      scale = Math.max(scale, Math.abs(v));
    }),
  );
  expect(diff / scale).toBeLessThan(1e-4);
  expect(wasm).toHaveLength(11);
});
