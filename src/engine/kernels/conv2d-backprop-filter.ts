import * as tf from '@tensorflow/tfjs';
import type { DisposingBackend, KernelScope } from './scope.js';
import { WASM, view, withScope } from './scope.js';

/**
 * `Conv2DBackpropFilter` for the wasm backend, which has none: the filter gradient of a
 * convolution is itself a convolution, run by the backend's fast (XNNPACK) forward Conv2D.
 *
 * For a forward `y = conv(x, W)` with stride s and pads (top, left):
 *   dW[i, j, c, k] = sum over n, a, b of xPadded[n, a*s + i, b*s + j, c] * dy[n, a, b, k]
 * Reading c as the batch, n as the input channel and dy as the filter, that is a stride-1 valid
 * convolution of x^T = [C, H, W, N] (padded like the forward pass) with dy^T = [oh, ow, N, K] at
 * dilation s. Its output is [C, >= fh, >= fw, K]; the first fh x fw positions, transposed to
 * [fh, fw, C, K], are dW. The pads go to the convolution, so x is never copied padded.
 *
 * One convolution over the whole batch: splitting the batch measured 1.5-9x slower in the
 * prototype and at best 10% faster (2 chunks, noisy) here, not worth the extra operators. This
 * kernel still costs about twice the forward convolution: its "filter" (dy, 16 MB for
 * [64, 32, 32, 64]) is packed anew at every call and streamed once per output tile.
 */
export function conv2DBackpropFilter(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const { x, dy } = args.inputs as { x?: tf.TensorInfo; dy?: tf.TensorInfo };
  const attrs = (args.attrs ?? {}) as unknown as tf.Conv2DBackpropFilterAttrs;
  if (!x || !dy) throw new Error('Conv2DBackpropFilter: inputs x and dy are required');
  if (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC') {
    throw new Error(
      `Conv2DBackpropFilter (wasm): dataFormat must be NHWC, got ${attrs.dataFormat}`,
    );
  }
  const filterShape = attrs.filterShape;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const [fh, fw, , k] = filterShape;
  const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  const expected = [n, oh, ow, k];
  if (dy.shape.join() !== expected.join()) {
    throw new Error(`Conv2DBackpropFilter: dy has shape [${dy.shape}], expected [${expected}]`);
  }
  const { top, left } = info.padInfo;
  // Pad the bottom and right only as far as the last filter row and column need, so that the
  // output is exactly fh x fw whenever the forward pass used every input row (no final slice).
  // Rows the forward pass never read (valid padding, stride > 1) make it larger: sliced below.
  const bottom = Math.max(0, fh + (oh - 1) * sh - h - top);
  const right = Math.max(0, fw + (ow - 1) * sw - w - left);
  const backend = args.backend as DisposingBackend;

  return withScope(backend, (scope) => {
    const xT = view(batchToLast(scope, x), [c, h, w, n]);
    // [N, oh*ow, K] -> [oh*ow, N, K]: whole rows of K move, which the backend does fast.
    const dyT = view(
      scope.run('Transpose', { x: view(dy, [n, oh * ow, k]) }, { perm: [1, 0, 2] }),
      [oh, ow, n, k],
    );
    let grad = scope.run(
      'Conv2D',
      { x: xT, filter: dyT },
      {
        strides: [1, 1],
        pad: [
          [0, 0],
          [top, bottom],
          [left, right],
          [0, 0],
        ],
        dataFormat: 'NHWC',
        dilations: [sh, sw],
      },
    );
    if (grad.shape[1] !== fh || grad.shape[2] !== fw) {
      grad = scope.run('Slice', { x: grad }, { begin: [0, 0, 0, 0], size: [c, fh, fw, k] });
    }
    const out = scope.run('Transpose', { x: view(grad, [c, fh * fw, k]) }, { perm: [1, 0, 2] });
    out.shape = [fh, fw, c, k];
    return out;
  });
}

/**
 * [N, H, W, C] -> [C, H*W, N] in two passes: a 2-D transpose [N, H*W*C] -> [H*W*C, N], then
 * [H*W, C, N] -> [C, H*W, N], which moves whole rows of N. The backend's general 4-D transpose
 * took 2.5x as long at [64, 32, 32, 64].
 */
function batchToLast(scope: KernelScope, x: tf.TensorInfo): tf.TensorInfo {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const flipped = scope.run('Transpose', { x: view(x, [n, h * w * c]) }, { perm: [1, 0] });
  return scope.run('Transpose', { x: view(flipped, [h * w, c, n]) }, { perm: [1, 0, 2] });
}

export const conv2DBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: WASM,
  kernelFunc: conv2DBackpropFilter as tf.KernelFunc,
};
