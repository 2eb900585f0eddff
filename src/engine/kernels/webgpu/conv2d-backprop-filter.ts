import * as tf from '@tensorflow/tfjs';
import { sumPartials } from './partial-sum.js';
import type { UniformValue, WebgpuBackendLike, WebgpuProgram } from './program.js';
import { WEBGPU, divCeil, int, slicesFor } from './program.js';

/**
 * `Conv2DBackpropFilter` for the webgpu backend: the filter gradient as a tiled matrix product
 * with workgroup-shared memory, split along its long reduction.
 *
 * For a forward `y = conv(x, W)` (NHWC, stride s, pads top/left), with m = (n, a, b) running
 * over the M = N*oh*ow output positions and k = (i, j, c) over the K = fh*fw*C filter taps:
 *   dW[k, f] = sum over m of A[m, k] * dy[m, f],   A[m, (i, j, c)] = x[n, a*sh + i - top, b*sw + j - left, c]
 * (0 outside x). A is never formed: its tile is gathered from x as it is loaded.
 *
 * The stock kernel (tfjs-backend-webgpu 4.22) runs one thread per weight, each looping over all
 * M positions alone: VGG-16's first layer (K*F = 1,728 weights, M = 131,072 at batch 128) gets
 * 27 workgroups, far too few for a large GPU, and nothing is reused between threads.
 *
 * Here a workgroup of 16 x 16 threads computes a 64 x 64 tile of dW, 4 x 4 values a thread
 * (rows ty + 16r, columns tx + 16c, so that reads of the shared tiles are broadcasts or
 * consecutive). It walks its share of M in steps of 16: it loads a 16 x 64 tile of A and one of
 * dy into shared memory (consecutive threads read consecutive channels of x and filters of dy),
 * then each thread does 16 x 16 multiply-adds from them. When the tiles of dW are too few to
 * fill the GPU (small K or F, as in the first layers), M is split into S slices whose partial
 * tiles go to an [S, K, F] buffer and are summed by a second pass (partial-sum.ts); WGSL has
 * no float atomics to sum them in place.
 *
 * Correct at every shape: every load and store is bounds-checked, so K, F and M need not be
 * multiples of anything. NCHW or non-float32 input goes to the stock kernel.
 */

/** Filter taps (K) and filters (F) per workgroup tile, and positions (M) per shared-memory step. */
const TILE_K = 64;
const TILE_F = 64;
const TILE_M = 16;
/** Threads per workgroup side; each computes TILE_K/16 x TILE_F/16 = 4 x 4 values. */
const SIDE = 16;
/**
 * Shortest slice of M worth its own partial tile: 16 shared-memory steps. VGG-16's first layer
 * at batch 128 (M = 131,072, one 64 x 64 tile) then runs 512 workgroups, about 4 per
 * multiprocessor of an H100, and writes 3.5 MB of partial tiles.
 */
const MIN_SLICE = 16 * TILE_M;

class Conv2DBackpropFilterProgram implements WebgpuProgram {
  readonly variableNames = ['x', 'dy'];
  readonly uniforms =
    'M : i32, K : i32, F : i32, C : i32, H : i32, W : i32, fw : i32, oh : i32, ow : i32, ' +
    'sh : i32, sw : i32, top : i32, left : i32, steps : i32, sliceLength : i32,';
  readonly workgroupSize: [number, number, number] = [SIDE, SIDE, 1];
  // Not flat: the backend then calls main() and leaves the dispatch as it is.
  readonly dispatchLayout = { x: [0], y: [1] };
  readonly shaderKey = `filterscopeConv2DBackpropFilter_${TILE_K}_${TILE_F}_${TILE_M}`;

  constructor(
    readonly outputShape: number[],
    readonly dispatch: [number, number, number],
  ) {}

  getUserCode(): string {
    const loads = (TILE_M * TILE_K) / (SIDE * SIDE);
    return `
      var<workgroup> tileA : array<f32, ${TILE_M * TILE_K}>;
      var<workgroup> tileB : array<f32, ${TILE_M * TILE_F}>;

      fn main() {
        let tx = i32(localId.x);
        let ty = i32(localId.y);
        let thread = ty * ${SIDE} + tx;
        let fBase = i32(workgroupId.x) * ${TILE_F};
        let kBase = i32(workgroupId.y) * ${TILE_K};
        let sliceIndex = i32(workgroupId.z);
        let mBegin = sliceIndex * uniforms.sliceLength;
        let mEnd = min(uniforms.M, mBegin + uniforms.sliceLength);
        var acc : array<array<f32, 4>, 4>;

        // The loop count is a uniform, so the barriers inside are in uniform control flow.
        for (var t = 0; t < uniforms.steps; t++) {
          let m0 = mBegin + t * ${TILE_M};
          for (var r = 0; r < ${loads}; r++) {
            let e = thread + r * ${SIDE * SIDE};
            let m = m0 + e / ${TILE_K};
            let k = kBase + e % ${TILE_K};
            var v = 0.0;
            if (m < mEnd && k < uniforms.K) {
              let c = k % uniforms.C;
              let tap = k / uniforms.C;
              let i = tap / uniforms.fw;
              let j = tap % uniforms.fw;
              let b = m % uniforms.ow;
              let rest = m / uniforms.ow;
              let a = rest % uniforms.oh;
              let n = rest / uniforms.oh;
              let row = a * uniforms.sh + i - uniforms.top;
              let col = b * uniforms.sw + j - uniforms.left;
              if (row >= 0 && row < uniforms.H && col >= 0 && col < uniforms.W) {
                v = x[((n * uniforms.H + row) * uniforms.W + col) * uniforms.C + c];
              }
            }
            tileA[e] = v;
          }
          for (var r = 0; r < ${(TILE_M * TILE_F) / (SIDE * SIDE)}; r++) {
            let e = thread + r * ${SIDE * SIDE};
            let m = m0 + e / ${TILE_F};
            let f = fBase + e % ${TILE_F};
            var v = 0.0;
            if (m < mEnd && f < uniforms.F) {
              v = dy[m * uniforms.F + f];
            }
            tileB[e] = v;
          }
          workgroupBarrier();
          for (var mm = 0; mm < ${TILE_M}; mm++) {
            var av : array<f32, 4>;
            var bv : array<f32, 4>;
            for (var i = 0; i < 4; i++) {
              av[i] = tileA[mm * ${TILE_K} + ty + ${SIDE} * i];
              bv[i] = tileB[mm * ${TILE_F} + tx + ${SIDE} * i];
            }
            for (var i = 0; i < 4; i++) {
              for (var j = 0; j < 4; j++) {
                acc[i][j] = fma(av[i], bv[j], acc[i][j]);
              }
            }
          }
          workgroupBarrier();
        }

        let offset = sliceIndex * uniforms.K * uniforms.F;
        for (var i = 0; i < 4; i++) {
          let k = kBase + ty + ${SIDE} * i;
          for (var j = 0; j < 4; j++) {
            let f = fBase + tx + ${SIDE} * j;
            if (k < uniforms.K && f < uniforms.F) {
              setOutputAtIndex(offset + k * uniforms.F + f, acc[i][j]);
            }
          }
        }
      }
    `;
  }
}

/** The kernel; see the file comment. Falls back to `stock` for what it does not handle. */
export function conv2DBackpropFilterWebgpu(stock: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x, dy } = args.inputs as { x?: tf.TensorInfo; dy?: tf.TensorInfo };
    const attrs = (args.attrs ?? {}) as unknown as tf.Conv2DBackpropFilterAttrs;
    const nhwc = attrs.dataFormat === undefined || attrs.dataFormat === 'NHWC';
    if (!x || !dy || !nhwc || x.dtype !== 'float32' || dy.dtype !== 'float32') return stock(args);
    const backend = args.backend as WebgpuBackendLike;
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      attrs.filterShape,
      attrs.strides,
      1,
      attrs.pad,
      attrs.dimRoundingMode,
    );
    const [n, h, w, c] = x.shape as [number, number, number, number];
    const [fh, fw, , filters] = attrs.filterShape;
    const { outHeight: oh, outWidth: ow } = info;
    const expected = [n, oh, ow, filters];
    if (dy.shape.join() !== expected.join()) {
      throw new Error(`Conv2DBackpropFilter: dy has shape [${dy.shape}], expected [${expected}]`);
    }
    const m = n * oh * ow;
    const k = fh * fw * c;
    const tilesF = divCeil(filters, TILE_F);
    const tilesK = divCeil(k, TILE_K);
    const maxDispatch = backend.device.limits.maxComputeWorkgroupsPerDimension;
    if (tilesF > maxDispatch || tilesK > maxDispatch) return stock(args);
    const slices = slicesFor(m, tilesF * tilesK, MIN_SLICE);
    // Each slice a whole number of shared-memory steps; the last may be shorter.
    const steps = divCeil(divCeil(m, slices), TILE_M);
    const sliceLength = steps * TILE_M;
    const used = divCeil(m, sliceLength);
    const uniforms: UniformValue[] = [
      m,
      k,
      filters,
      c,
      h,
      w,
      fw,
      oh,
      ow,
      info.strideHeight,
      info.strideWidth,
      info.padInfo.top,
      info.padInfo.left,
      steps,
      sliceLength,
    ].map(int);
    const filterShape = [fh, fw, c, filters];
    const program = (shape: number[]) =>
      new Conv2DBackpropFilterProgram(shape, [tilesF, tilesK, used]);
    if (used === 1)
      return backend.runWebGPUProgram(program(filterShape), [x, dy], 'float32', uniforms);
    const parts = backend.runWebGPUProgram(
      program([used, k * filters]),
      [x, dy],
      'float32',
      uniforms,
    );
    try {
      return sumPartials(backend, parts, filterShape);
    } finally {
      backend.disposeData(parts.dataId);
    }
  };
}

/** The kernel's config; `stock` is the backend's own, used for NCHW and other dtypes. */
export function conv2DBackpropFilterWebgpuConfig(stock: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName: tf.Conv2DBackpropFilter,
    backendName: WEBGPU,
    kernelFunc: conv2DBackpropFilterWebgpu(stock.kernelFunc),
  };
}
