import type * as tf from '@tensorflow/tfjs';
import type { WebgpuBackendLike, WebgpuProgram } from './program.js';
import { divCeil } from './program.js';

/**
 * The second pass of a split reduction: `parts` [S, N] summed over S, times `scale`, into an
 * output of any shape with N elements. One thread per output element; consecutive threads read
 * consecutive addresses of each slice, so every read is coalesced.
 */
class PartialSumProgram implements WebgpuProgram {
  readonly variableNames = ['parts'];
  readonly uniforms = 'slices : i32, scale : f32,';
  readonly workgroupSize: [number, number, number] = [256, 1, 1];
  readonly size = true;
  readonly dispatchLayout: { x: number[] };
  readonly dispatch: [number, number, number];
  shaderKey = 'filterscopePartialSum';

  constructor(readonly outputShape: number[]) {
    this.dispatchLayout = { x: outputShape.map((_, i) => i) };
    const n = outputShape.reduce((a, b) => a * b, 1);
    // The backend reshapes a dispatch over 65,535 workgroups; getGlobalIndex() follows it.
    this.dispatch = [divCeil(n, 256), 1, 1];
  }

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          var total = 0.0;
          for (var s = 0; s < uniforms.slices; s++) {
            total += parts[s * uniforms.size + index];
          }
          setOutputAtIndex(index, total * uniforms.scale);
        }
      }
    `;
  }
}

/**
 * Sums `parts` ([slices, N], float32) over its first axis into a new tensor of `outShape`
 * (N elements), multiplied by `scale` (default 1). The caller still owns `parts`.
 */
export function sumPartials(
  backend: WebgpuBackendLike,
  parts: tf.TensorInfo,
  outShape: number[],
  scale = 1,
): tf.TensorInfo {
  const slices = parts.shape[0] ?? 1;
  return backend.runWebGPUProgram(new PartialSumProgram(outShape), [parts], 'float32', [
    { type: 'int32', data: [slices] },
    { type: 'float32', data: [scale] },
  ]);
}
