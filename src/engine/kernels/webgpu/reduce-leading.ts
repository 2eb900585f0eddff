import * as tf from '@tensorflow/tfjs';
import { sumPartials } from './partial-sum.js';
import type { WebgpuBackendLike, WebgpuProgram } from './program.js';
import { WEBGPU, divCeil, int, slicesFor } from './program.js';

/**
 * `Sum` and `Mean` over leading axes for the webgpu backend: x viewed as [R, C] (R the product
 * of the reduced leading dimensions), reduced over R. Training does this for every batch-norm
 * statistic and its gradient and for every bias gradient, over [batch, h, w].
 *
 * The stock kernels (tfjs-backend-webgpu 4.22) transpose the reduced axes to the end first (a
 * full copy of the activation) and then give each output one workgroup: C = 64 channels make 64
 * workgroups, a fraction of a large GPU. Here a workgroup of 256 threads covers up to 64
 * adjacent columns with 256/64 = 4 (or more, for fewer columns) lanes of rows: each thread sums
 * its column over every lane-th row of its slice, reading rows of consecutive columns
 * (coalesced), then the lanes are added in shared memory. R is split into slices to fill the
 * GPU, their partial rows summed by a second pass (partial-sum.ts), which also scales the mean.
 *
 * Other axis patterns, non-float32 input, reductions of every axis and those already over
 * trailing axes (which the stock kernels do without a transpose) go to the stock kernel.
 */

const THREADS = 256;
/** Widest column tile; narrower for fewer columns, so that threads are not left idle. */
const MAX_COLUMNS = 64;
/** Shortest slice of R worth its own partial row. */
const MIN_SLICE = 512;

class ReduceLeadingProgram implements WebgpuProgram {
  readonly variableNames = ['x'];
  readonly uniforms = 'R : i32, C : i32, sliceLength : i32, scale : f32,';
  readonly workgroupSize: [number, number, number];
  readonly dispatchLayout = { x: [0], y: [1] };
  readonly shaderKey: string;

  constructor(
    readonly outputShape: number[],
    readonly dispatch: [number, number, number],
    private readonly columns: number,
  ) {
    this.workgroupSize = [columns, THREADS / columns, 1];
    this.shaderKey = `filterscopeReduceLeading_${columns}`;
  }

  getUserCode(): string {
    const lanes = THREADS / this.columns;
    return `
      var<workgroup> sums : array<f32, ${THREADS}>;

      fn main() {
        let lx = i32(localId.x);
        let ly = i32(localId.y);
        let column = i32(workgroupId.x) * ${this.columns} + lx;
        let sliceIndex = i32(workgroupId.z) * i32(numWorkgroups.y) + i32(workgroupId.y);
        let rBegin = sliceIndex * uniforms.sliceLength;
        let rEnd = min(uniforms.R, rBegin + uniforms.sliceLength);
        var total = 0.0;
        if (column < uniforms.C) {
          for (var r = rBegin + ly; r < rEnd; r += ${lanes}) {
            total += x[r * uniforms.C + column];
          }
        }
        sums[ly * ${this.columns} + lx] = total;
        workgroupBarrier();
        for (var half = ${lanes / 2}; half > 0; half = half / 2) {
          if (ly < half) {
            sums[ly * ${this.columns} + lx] += sums[(ly + half) * ${this.columns} + lx];
          }
          workgroupBarrier();
        }
        if (ly == 0 && column < uniforms.C) {
          setOutputAtIndex(sliceIndex * uniforms.C + column, sums[lx] * uniforms.scale);
        }
      }
    `;
  }
}

/** The number of leading axes reduced, or null when the stock kernel should run. */
function leadingAxes(x: tf.TensorInfo, axis: number | number[]): number | null {
  if (x.dtype !== 'float32') return null;
  const rank = x.shape.length;
  const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
  if (axes.length === 0 || axes.length >= rank) return null;
  if (!axes.every((a, i) => a === i)) return null;
  if (x.shape.some((d) => d === 0)) return null;
  return axes.length;
}

/** Smallest power of two >= n, at most MAX_COLUMNS. */
function columnTile(n: number): number {
  let tile = 1;
  while (tile < n && tile < MAX_COLUMNS) tile *= 2;
  return tile;
}

function reduceLeading(
  backend: WebgpuBackendLike,
  x: tf.TensorInfo,
  count: number,
  keepDims: boolean,
  mean: boolean,
): tf.TensorInfo | null {
  const r = x.shape.slice(0, count).reduce((a, b) => a * b, 1);
  const c = x.shape.slice(count).reduce((a, b) => a * b, 1);
  const columns = columnTile(c);
  const tiles = divCeil(c, columns);
  const maxDispatch = backend.device.limits.maxComputeWorkgroupsPerDimension;
  if (tiles > maxDispatch) return null;
  const slices = slicesFor(r, tiles, MIN_SLICE);
  const sliceLength = divCeil(r, slices);
  const used = divCeil(r, sliceLength);
  // Slices along y, and z once y is full.
  const dispatch: [number, number, number] = [
    tiles,
    Math.min(used, maxDispatch),
    divCeil(used, maxDispatch),
  ];
  if (dispatch[1] * dispatch[2] !== used) return null;
  const kept = x.shape.slice(count);
  const outShape = keepDims ? [...new Array<number>(count).fill(1), ...kept] : kept;
  const scale = mean ? 1 / r : 1;
  const uniforms = [int(r), int(c), int(sliceLength), { type: 'float32' as const, data: [scale] }];
  if (used === 1) {
    const program = new ReduceLeadingProgram(outShape, dispatch, columns);
    return backend.runWebGPUProgram(program, [x], 'float32', uniforms);
  }
  const parts = backend.runWebGPUProgram(
    new ReduceLeadingProgram([used, c], dispatch, columns),
    [x],
    'float32',
    [...uniforms.slice(0, 3), { type: 'float32', data: [1] }],
  );
  try {
    return sumPartials(backend, parts, outShape, scale);
  } finally {
    backend.disposeData(parts.dataId);
  }
}

/** Builds the replacement of a stock reduction kernel, falling back to `stock`. */
function leadingReduction(
  kernelName: string,
  stock: tf.KernelConfig,
  mean: boolean,
): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = (args) => {
    const { x } = args.inputs;
    const { axis, keepDims } = (args.attrs ?? {}) as unknown as tf.SumAttrs;
    const count = x ? leadingAxes(x, axis) : null;
    if (!x || count === null) return stock.kernelFunc(args);
    const backend = args.backend as WebgpuBackendLike;
    return reduceLeading(backend, x, count, keepDims, mean) ?? stock.kernelFunc(args);
  };
  return { kernelName, backendName: WEBGPU, kernelFunc };
}

/** `Sum` over leading axes; `stock` is the webgpu backend's own `Sum` config. */
export function sumWebgpuConfig(stock: tf.KernelConfig): tf.KernelConfig {
  return leadingReduction(tf.Sum, stock, false);
}

/** `Mean` over leading axes; `stock` is the webgpu backend's own `Mean` config. */
export function meanWebgpuConfig(stock: tf.KernelConfig): tf.KernelConfig {
  return leadingReduction(tf.Mean, stock, true);
}
