import * as tf from '@tensorflow/tfjs';
import { conv2DBackpropFilterConfig } from './conv2d-backprop-filter.js';
import { conv2DBackpropInputConfig } from './conv2d-backprop-input.js';
import { restoreStockBatchNormGradient, useClosedFormBatchNormGradient } from './gradients.js';
import { meanConfig, sumConfig } from './reduce-leading.js';
import { WASM } from './scope.js';

/**
 * filterscope's training kernels for the wasm backend (see each file for the method):
 * - `Conv2DBackpropFilter`, which the wasm backend lacks, and `Conv2DBackpropInput`, whose
 *   stock kernel is 10x slower than the forward convolution: both run the forward Conv2D;
 * - `Sum` and `Mean` over leading axes as one matrix product;
 * - a closed-form `FusedBatchNorm` gradient without Tile (a gradient, so for every backend).
 * In the prototype they took a small VGG from 13.5 to 21.7 training images/s on one thread.
 */

interface Installed {
  /** The stock config each of our kernels replaced; null where there was none. */
  readonly kernels: ReadonlyMap<string, tf.KernelConfig | null>;
}

let installed: Installed | null = null;

/**
 * Registers the training kernels for the backend named `wasm`. Idempotent. Call it after
 * importing `@tensorflow/tfjs-backend-wasm` (which registers the stock kernels), before or after
 * the backend is initialized: replaced kernels keep the stock `setupFunc`.
 */
export function registerWasmTrainingKernels(): void {
  if (installed) return;
  const stock = (name: string): tf.KernelConfig => {
    const config = tf.getKernel(name, WASM);
    if (!config) {
      throw new Error(
        `the wasm backend has no ${name} kernel: import @tensorflow/tfjs-backend-wasm first`,
      );
    }
    return config;
  };
  const ours: tf.KernelConfig[] = [
    conv2DBackpropFilterConfig,
    conv2DBackpropInputConfig,
    sumConfig(stock(tf.Sum)),
    meanConfig(stock(tf.Mean)),
  ];
  const replaced = new Map<string, tf.KernelConfig | null>();
  for (const config of ours) {
    const existing = tf.getKernel(config.kernelName, WASM) ?? null;
    replaced.set(config.kernelName, existing);
    if (existing) tf.unregisterKernel(config.kernelName, WASM);
    tf.registerKernel({
      ...config,
      setupFunc: config.setupFunc ?? existing?.setupFunc,
      disposeFunc: config.disposeFunc ?? existing?.disposeFunc,
    });
  }
  useClosedFormBatchNormGradient();
  installed = { kernels: replaced };
}

/**
 * Puts the stock kernels and gradient back (for comparisons in tests and benchmarks).
 * Does nothing when the training kernels are not registered.
 */
export function unregisterWasmTrainingKernels(): void {
  if (!installed) return;
  for (const [name, original] of installed.kernels) {
    tf.unregisterKernel(name, WASM);
    if (original) tf.registerKernel(original);
  }
  restoreStockBatchNormGradient();
  installed = null;
}

/** Whether `registerWasmTrainingKernels` is in effect. */
export function wasmTrainingKernelsRegistered(): boolean {
  return installed !== null;
}
