import type * as tf from '@tensorflow/tfjs';

/**
 * What filterscope's WebGPU kernels need of `@tensorflow/tfjs-backend-webgpu`, typed here so
 * that the engine does not import the package (it is loaded at run time, like the wasm one).
 *
 * A program is what the backend's `runWebGPUProgram` compiles and dispatches: the backend
 * prepends the bindings (`result`, then one read-only storage array per `variableNames` entry,
 * then a `uniforms` struct with every input's and the output's shape and strides, `size` when
 * asked for, and the program's own `uniforms` fields), and the helpers
 * (`getGlobalIndex`, `setOutputAtIndex`, ...). It also declares the builtins as private
 * variables (`localId`, `localIndex`, `workgroupId`, `numWorkgroups`, `globalId`) and calls
 * `main(index)` for a flat dispatch layout, else `main()`.
 */

/** The name the webgpu backend registers its kernels under. */
export const WEBGPU = 'webgpu';

export interface WebgpuProgram {
  outputShape: number[];
  /** Pipelines are cached by this key (plus the shapes' ranks): it must name every constant. */
  shaderKey: string;
  /** Output dimensions per dispatch axis; only x: a flat program, `main(index)`. */
  dispatchLayout: { x: number[]; y?: number[]; z?: number[] };
  /** Workgroups per axis, each at most 65,535 unless the layout is flat. */
  dispatch: [number, number, number];
  variableNames: string[];
  /** WGSL struct fields, e.g. `M : i32, scale : f32,`, given as `UniformValue`s in order. */
  uniforms?: string;
  workgroupSize: [number, number, number];
  /** Adds `uniforms.size`, the output's element count. */
  size?: boolean;
  getUserCode(): string;
}

/** A program uniform: scalars only here, so no WGSL alignment questions arise. */
export interface UniformValue {
  readonly type: 'int32' | 'float32' | 'uint32';
  readonly data: number[];
}

/** The part of the webgpu backend the kernels use. */
export interface WebgpuBackendLike {
  runWebGPUProgram(
    program: WebgpuProgram,
    inputs: tf.TensorInfo[],
    outputDtype: tf.DataType,
    uniforms?: UniformValue[],
    output?: tf.TensorInfo,
  ): tf.TensorInfo;
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
  readonly device: { readonly limits: { readonly maxComputeWorkgroupsPerDimension: number } };
}

/** `ceil(a / b)` for positive integers. */
export const divCeil = (a: number, b: number): number => Math.floor((a + b - 1) / b);

/** One scalar i32 uniform. */
export const int = (value: number): UniformValue => ({ type: 'int32', data: [value] });

/**
 * How many slices to split a reduction of `rows` into so that `tiles` output tiles times the
 * slices make about `targetWorkgroups` workgroups, each slice at least `minRows` long. A large
 * GPU runs about a thousand 256-thread workgroups at once (an H100: 132 multiprocessors, 8
 * each); fewer leave it idle, many more only add partial sums to add up.
 */
export function slicesFor(
  rows: number,
  tiles: number,
  minRows: number,
  targetWorkgroups = 1024,
): number {
  const wanted = divCeil(targetWorkgroups, Math.max(1, tiles));
  const most = Math.max(1, Math.floor(rows / minRows));
  return Math.max(1, Math.min(wanted, most, 65_535));
}
