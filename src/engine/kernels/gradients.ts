import * as tf from '@tensorflow/tfjs';
import { batchNormGradConfig } from './batch-norm-grad.js';

/**
 * The closed-form `FusedBatchNorm` gradient (batch-norm-grad.ts) in tfjs' global gradient
 * registry, shared by the wasm and the webgpu training kernels: gradients are registered for
 * every backend at once, so one switch serves both.
 */

let stock: tf.GradConfig | null = null;

/** Registers the closed-form gradient, keeping the stock one to restore. Idempotent. */
export function useClosedFormBatchNormGradient(): void {
  if (stock) return;
  const current = tf.getGradient(tf.FusedBatchNorm);
  if (!current) throw new Error('tfjs has no FusedBatchNorm gradient to replace');
  tf.registerGradient(batchNormGradConfig(current));
  stock = current;
}

/** Puts tfjs' own gradient back (for comparisons against it). Does nothing when not replaced. */
export function restoreStockBatchNormGradient(): void {
  if (!stock) return;
  tf.registerGradient(stock);
  stock = null;
}
