import * as tf from '@tensorflow/tfjs';

/**
 * Plumbing for composite kernels: kernels of the wasm backend built by calling its other
 * kernels' `kernelFunc`s directly. Those calls bypass the engine, so their outputs are raw
 * `TensorInfo`s that nothing tracks; a `KernelScope` disposes every one it made unless the
 * kernel hands it back as its result.
 */

/** What a composite kernel needs of the wasm backend: freeing the data of an intermediate. */
export interface DisposingBackend {
  disposeData(dataId: tf.DataId): boolean;
}

/** The name the wasm backend registers its kernels under. */
export const WASM = 'wasm';

export class KernelScope {
  private readonly owned = new Set<tf.TensorInfo>();

  constructor(readonly backend: DisposingBackend) {}

  /**
   * Runs `kernelName` of the backend, or `impl` when given (a saved stock kernel that has since
   * been replaced), and takes ownership of its output.
   */
  run(
    kernelName: string,
    inputs: tf.NamedTensorInfoMap,
    attrs: tf.NamedAttrMap = {},
    impl?: tf.KernelFunc,
  ): tf.TensorInfo {
    const kernelFunc = impl ?? tf.getKernel(kernelName, WASM)?.kernelFunc;
    if (!kernelFunc) throw new Error(`the wasm backend has no ${kernelName} kernel`);
    const out = kernelFunc({ inputs, backend: this.backend, attrs });
    if (Array.isArray(out)) {
      out.forEach((t) => this.backend.disposeData(t.dataId));
      throw new Error(`${kernelName} returned ${out.length} outputs where one was expected`);
    }
    this.owned.add(out);
    return out;
  }

  /** Hands `out` (an output of `run`) to the caller, who then owns it. */
  keep(out: tf.TensorInfo): tf.TensorInfo {
    if (!this.owned.delete(out)) throw new Error('keep: the tensor was not made in this scope');
    return out;
  }

  /** Frees every output not kept. Call in `finally`, so a failing kernel leaks nothing. */
  dispose(): void {
    for (const t of this.owned) this.backend.disposeData(t.dataId);
    this.owned.clear();
  }
}

/**
 * Runs `body` with a fresh scope and returns what it keeps; everything else it made is freed,
 * on success and on error.
 */
export function withScope(
  backend: DisposingBackend,
  body: (scope: KernelScope) => tf.TensorInfo,
): tf.TensorInfo {
  const scope = new KernelScope(backend);
  try {
    return scope.keep(body(scope));
  } finally {
    scope.dispose();
  }
}

/**
 * The same data under another shape of equal size, to pass as a kernel input. A view owns
 * nothing: never dispose it nor return it from a kernel.
 */
export function view(t: tf.TensorInfo, shape: readonly number[]): tf.TensorInfo {
  const size = shape.reduce((a, b) => a * b, 1);
  const have = t.shape.reduce((a, b) => a * b, 1);
  if (size !== have) throw new Error(`view: shape [${shape}] does not fit [${t.shape}]`);
  return { dataId: t.dataId, shape: [...shape], dtype: t.dtype };
}

/** Product of `shape[from..to)`. */
export function sizeOf(shape: readonly number[], from = 0, to = shape.length): number {
  let n = 1;
  for (let i = from; i < to; i++) n *= shape[i] ?? 1;
  return n;
}

/** `[a, b]` of a 2-element attribute that may also be given as one number. */
export function pair(value: number | readonly number[]): [number, number] {
  if (typeof value === 'number') return [value, value];
  const [a, b] = value;
  if (a === undefined || b === undefined) throw new Error(`expected 2 numbers, got [${value}]`);
  return [a, b];
}
