import * as tf from '@tensorflow/tfjs';
import type { DisposingBackend } from './scope.js';
import { WASM, view, withScope } from './scope.js';

/**
 * `Conv2DBackpropInput` for the wasm backend. Its own kernel runs a plain loop at about
 * 1.5 GFLOP/s, 10x slower than its forward Conv2D; this one runs the forward Conv2D instead.
 *
 * The input gradient of a stride-s convolution is a stride-1 convolution of dy with zeros
 * inserted between its rows and columns (s - 1 of them), with the filter reversed over h and w
 * and its in/out channels swapped ([fh, fw, K, C]). Over rows (columns alike), with
 * ohd = (oh - 1) s + 1 dilated rows and the forward pad top:
 *   dx[r] = sum over i of dyDilated[r + top - (fh - 1) + i] * Wreversed[i]
 * i.e. a valid convolution after padding dyDilated by fh - 1 - top above and
 * H - ohd + top below. Zero insertion by reshape + pad leaves s - 1 extra zero rows at the
 * bottom, taken off the bottom pad; a pad that comes out negative crops dy instead.
 */
export function conv2DBackpropInput(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const { dy, filter } = args.inputs as { dy?: tf.TensorInfo; filter?: tf.TensorInfo };
  const attrs = (args.attrs ?? {}) as unknown as tf.Conv2DBackpropInputAttrs;
  if (!dy || !filter) throw new Error('Conv2DBackpropInput: inputs dy and filter are required');
  if (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC') {
    throw new Error(`Conv2DBackpropInput (wasm): dataFormat must be NHWC, got ${attrs.dataFormat}`);
  }
  const inputShape = attrs.inputShape;
  const filterShape = filter.shape as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(
    inputShape,
    filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const [n, h, w] = inputShape;
  const [fh, fw, , k] = filterShape;
  const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  const expected = [n, oh, ow, k];
  if (dy.shape.join() !== expected.join()) {
    throw new Error(`Conv2DBackpropInput: dy has shape [${dy.shape}], expected [${expected}]`);
  }
  const rows = padsFor(h, oh, fh, sh, info.padInfo.top);
  const cols = padsFor(w, ow, fw, sw, info.padInfo.left);
  const backend = args.backend as DisposingBackend;

  return withScope(backend, (scope) => {
    const reversed = scope.run('Reverse', { x: filter }, { dims: [0, 1] });
    const flipped = scope.run('Transpose', { x: reversed }, { perm: [0, 1, 3, 2] });
    let dyd = dy;
    if (sh > 1 || sw > 1) {
      // [N*oh, 1, ow, 1, K] padded to [N*oh, sh, ow, sw, K] is dy with zeros inserted after
      // every row and column: [N, oh*sh, ow*sw, K] in memory.
      const padded = scope.run(
        'PadV2',
        { x: view(dy, [n * oh, 1, ow, 1, k]) },
        {
          paddings: [
            [0, 0],
            [0, sh - 1],
            [0, 0],
            [0, sw - 1],
            [0, 0],
          ],
          constantValue: 0,
        },
      );
      dyd = view(padded, [n, oh * sh, ow * sw, k]);
    }
    if (rows.cropBefore + rows.cropAfter + cols.cropBefore + cols.cropAfter > 0) {
      const height = dyd.shape[1]! - rows.cropBefore - rows.cropAfter;
      const width = dyd.shape[2]! - cols.cropBefore - cols.cropAfter;
      dyd = scope.run(
        'Slice',
        { x: dyd },
        { begin: [0, rows.cropBefore, cols.cropBefore, 0], size: [n, height, width, k] },
      );
    }
    return scope.run(
      'Conv2D',
      { x: dyd, filter: flipped },
      {
        strides: [1, 1],
        pad: [
          [0, 0],
          [rows.before, rows.after],
          [cols.before, cols.after],
          [0, 0],
        ],
        dataFormat: 'NHWC',
        dilations: [1, 1],
      },
    );
  });
}

interface AxisPads {
  before: number;
  after: number;
  cropBefore: number;
  cropAfter: number;
}

/**
 * Pads (>= 0) and crops of one spatial axis of zero-inserted dy, which has `out * stride` rows:
 * `size` input rows, `out` output rows, filter side `f`, forward pad `padBefore`.
 */
function padsFor(
  size: number,
  out: number,
  f: number,
  stride: number,
  padBefore: number,
): AxisPads {
  const dilated = (out - 1) * stride + 1;
  const before = f - 1 - padBefore;
  const after = size - dilated + padBefore - (stride - 1);
  return {
    before: Math.max(0, before),
    after: Math.max(0, after),
    cropBefore: Math.max(0, -before),
    cropAfter: Math.max(0, -after),
  };
}

export const conv2DBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropInput,
  backendName: WASM,
  kernelFunc: conv2DBackpropInput as tf.KernelFunc,
};
