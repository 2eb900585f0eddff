import type * as tf from '@tensorflow/tfjs';
import type { ArchitectureSpec } from '../architecture/index.js';
import type { BackendName } from '../contract/backends.js';
import type { FrozenRuntimeChoice } from '../contract/frozen-runtime.js';
import type { ProbePoint } from '../contract/probe-points.js';
import type { NamedArray } from '../contract/tensors.js';
import { writeFrozenOnnx } from '../interop/onnx-frozen.js';
import { tfjsFrozenNetwork, type FrozenNetwork } from './probe-features.js';

/**
 * The probe's frozen forward pass on the runtime FILTERSCOPE_FROZEN_RUNTIME picks
 * (contract/frozen-runtime.ts): the probe's own TensorFlow.js backend, or onnxruntime-node's native
 * CPU kernels on the ONNX export of the frozen prefix (interop/onnx-frozen.ts).
 */

/** The backends that run on a GPU: their own path beats a CPU runtime. */
const GPU_BACKENDS: readonly BackendName[] = ['tensorflow-gpu', 'webgpu'];

/** The onnxruntime-node module, as far as the probe uses it. */
export type OnnxRuntime = typeof import('onnxruntime-node');

/** Loads onnxruntime-node (an optional dependency); null when it is not installed or fails. */
export async function loadOnnxRuntime(
  moduleName = 'onnxruntime-node',
): Promise<{ ort: OnnxRuntime } | { error: string }> {
  try {
    const ort = (await import(moduleName)) as OnnxRuntime & { default?: OnnxRuntime };
    // The CommonJS package's exports sit on `default` when imported from ESM.
    const runtime = typeof ort.InferenceSession === 'function' ? ort : ort.default;
    if (!runtime || typeof runtime.InferenceSession !== 'function')
      return { error: `${moduleName} has no InferenceSession` };
    return { ort: runtime };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

export type FrozenRuntime =
  { readonly kind: 'tfjs' } | { readonly kind: 'onnxruntime'; readonly ort: OnnxRuntime };

/**
 * The runtime for a probe on `backend`. `onnxruntime` that does not load throws (the setting asked
 * for it); `auto` falls back to the backend.
 */
export async function chooseFrozenRuntime(
  choice: FrozenRuntimeChoice,
  backend: string,
  load: () => ReturnType<typeof loadOnnxRuntime> = () => loadOnnxRuntime(),
): Promise<FrozenRuntime> {
  if (choice === 'tfjs') return { kind: 'tfjs' };
  if (choice === 'auto' && (GPU_BACKENDS as readonly string[]).includes(backend))
    return { kind: 'tfjs' };
  const loaded = await load();
  if ('ort' in loaded) return { kind: 'onnxruntime', ort: loaded.ort };
  if (choice === 'onnxruntime')
    throw new Error(
      `FILTERSCOPE_FROZEN_RUNTIME=onnxruntime but onnxruntime-node does not load: ${loaded.error}`,
    );
  return { kind: 'tfjs' };
}

/** A frozen network on onnxruntime, and how to free its session. */
export interface NativeFrozenNetwork {
  readonly network: FrozenNetwork;
  release(): Promise<void>;
}

/**
 * An onnxruntime session of `model` (writeFrozenOnnx's bytes: NHWC input, output `probe<i>` per
 * probe point, `[batch, P * F]` channels-last) with `threads` intra-op threads.
 */
export async function onnxFrozenNetwork(
  ort: OnnxRuntime,
  model: Uint8Array,
  points: readonly ProbePoint[],
  inputShape: readonly [number, number, number],
  threads: number,
): Promise<NativeFrozenNetwork> {
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: Math.max(1, threads),
    interOpNumThreads: 1,
  });
  const names = points.map((_, i) => `probe${i}`);
  return {
    network: async (inputs, count) => {
      const input = new ort.Tensor('float32', inputs, [count, ...inputShape]);
      const results = await session.run({ input });
      return names.map((name) => {
        const data = results[name]!.data;
        if (!(data instanceof Float32Array))
          throw new Error(`onnxruntime output ${name} is not float32`);
        return data;
      });
    },
    release: () => session.release(),
  };
}

/** The frozen network a probe runs, what runs it (`timings.frozenPath`), and its release. */
export interface OpenedFrozenNetwork {
  readonly network: FrozenNetwork;
  /** `onnxruntime`, or the TensorFlow.js backend's name. */
  readonly path: string;
  release(): Promise<void>;
}

/**
 * Opens the frozen network of a probe on the runtime `choice` picks for `backend`: onnxruntime
 * on the frozen prefix written from `weights`, or `tfjsModel()` (buildProbeModel's model).
 */
export async function openFrozenNetwork(
  choice: FrozenRuntimeChoice,
  backend: string,
  spec: ArchitectureSpec,
  weights: readonly NamedArray[],
  points: readonly ProbePoint[],
  threads: number,
  tfjsModel: () => tf.LayersModel,
): Promise<OpenedFrozenNetwork> {
  const runtime = await chooseFrozenRuntime(choice, backend);
  if (runtime.kind === 'onnxruntime') {
    const model = writeFrozenOnnx(spec, weights, points);
    const native = await onnxFrozenNetwork(runtime.ort, model, points, spec.inputShape, threads);
    return { network: native.network, path: 'onnxruntime', release: native.release };
  }
  return {
    network: tfjsFrozenNetwork(tfjsModel(), points, spec.inputShape),
    path: backend,
    release: async () => undefined,
  };
}
