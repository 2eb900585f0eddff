/**
 * What runs a probe's frozen forward pass (FILTERSCOPE_FROZEN_RUNTIME): `tfjs`, the probe's own
 * TensorFlow.js backend; `onnxruntime`, onnxruntime-node's native CPU kernels on the ONNX export
 * of the frozen prefix; `auto`, the backend when it is a GPU, else onnxruntime when its package
 * loads, else the backend (wasm). See engine/frozen-runtime.ts.
 */
export const FROZEN_RUNTIME_CHOICES = ['auto', 'onnxruntime', 'tfjs'] as const;
export type FrozenRuntimeChoice = (typeof FROZEN_RUNTIME_CHOICES)[number];

/** Narrows a setting to a frozen runtime choice. */
export const isFrozenRuntimeChoice = (value: string): value is FrozenRuntimeChoice =>
  (FROZEN_RUNTIME_CHOICES as readonly string[]).includes(value);
