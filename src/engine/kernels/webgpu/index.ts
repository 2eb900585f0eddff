import * as tf from '@tensorflow/tfjs';
import { restoreStockBatchNormGradient, useClosedFormBatchNormGradient } from '../gradients.js';
import { conv2DBackpropFilterWebgpuConfig } from './conv2d-backprop-filter.js';
import { WEBGPU } from './program.js';
import { meanWebgpuConfig, sumWebgpuConfig } from './reduce-leading.js';

/**
 * filterscope's training kernels for the webgpu backend (see each file for the method), each
 * registered under the backend name `webgpu` only:
 * - `Conv2DBackpropFilter` as a tiled, split matrix product (the stock one is one thread per
 *   weight);
 * - `Sum` and `Mean` over leading axes without the stock kernels' transpose;
 * - the closed-form `FusedBatchNorm` gradient (gradients.ts, shared with wasm).
 * Each falls back to the stock kernel for what it does not handle. bench/webgpu-kernels.ts
 * measures them against the stock ones.
 */

let replaced: ReadonlyMap<string, tf.KernelConfig> | null = null;

/**
 * Registers the training kernels for the backend named `webgpu`. Idempotent. Call it after
 * importing `@tensorflow/tfjs-backend-webgpu`, which registers the stock kernels (the package
 * registers them whether or not WebGPU is there).
 */
export function registerWebgpuTrainingKernels(): void {
  if (replaced) return;
  const stock = (name: string): tf.KernelConfig => {
    const config = tf.getKernel(name, WEBGPU);
    if (!config) {
      throw new Error(
        `the webgpu backend has no ${name} kernel: import @tensorflow/tfjs-backend-webgpu first`,
      );
    }
    return config;
  };
  const ours = [
    conv2DBackpropFilterWebgpuConfig(stock(tf.Conv2DBackpropFilter)),
    sumWebgpuConfig(stock(tf.Sum)),
    meanWebgpuConfig(stock(tf.Mean)),
  ];
  const originals = new Map<string, tf.KernelConfig>();
  for (const config of ours) {
    originals.set(config.kernelName, stock(config.kernelName));
    tf.unregisterKernel(config.kernelName, WEBGPU);
    tf.registerKernel(config);
  }
  useClosedFormBatchNormGradient();
  replaced = originals;
}

/**
 * Puts the stock kernels and gradient back (for comparisons in tests and benchmarks). Does
 * nothing when the training kernels are not registered.
 */
export function unregisterWebgpuTrainingKernels(): void {
  if (!replaced) return;
  for (const [name, original] of replaced) {
    tf.unregisterKernel(name, WEBGPU);
    tf.registerKernel(original);
  }
  restoreStockBatchNormGradient();
  replaced = null;
}

/** Whether `registerWebgpuTrainingKernels` is in effect. */
export function webgpuTrainingKernelsRegistered(): boolean {
  return replaced !== null;
}
