import { onnx } from 'onnx-proto';
import type { ExplicitPadding } from '../architecture/index.js';
import { samePadding } from '../architecture/index.js';
import type { NetworkBuilder } from './builder.js';
import { ImportError, type SourceNode } from './errors.js';
import { oihwToHwio } from './layout.js';
import { biasOf, dense } from './onnx-dense.js';
import type { OnnxGraph } from './onnx-graph.js';
import { Attributes, nodeOf, shortestFloat32 } from './onnx-values.js';

/**
 * One ONNX node after another into the builder: attributes checked, weights read and laid out
 * channels-last, shapes tracked in ONNX's NCHW.
 */

/** NCHW (or [N, F]) from the builder's channels-last shape. */
export const fromBuilder = (batch: number, shape: readonly number[]): number[] =>
  shape.length === 3 ? [batch, shape[2]!, shape[0]!, shape[1]!] : [batch, ...shape];

const refuse = (node: SourceNode, why: string): never => {
  throw new ImportError('UNSUPPORTED_GRAPH', why, { node });
};

const normalizeAxes = (axes: readonly number[], rank: number): number[] =>
  axes.map((a) => (a < 0 ? a + rank : a)).sort((p, q) => p - q);

/**
 * Feeds one node to the builder. Returns the output's ONNX shape where it differs from the
 * builder's (a global pooling that keeps [N, C, 1, 1]), else undefined.
 */
export function applyNode(
  g: OnnxGraph,
  b: NetworkBuilder,
  node: onnx.INodeProto,
  x: readonly number[],
  last: boolean,
): readonly number[] | undefined {
  const user = nodeOf(node);
  const a = new Attributes(node);
  const inputs = node.input ?? [];
  const opt = (i: number): string | undefined => (inputs[i] ? inputs[i] : undefined);
  const op = node.opType ?? '';
  switch (op) {
    case 'Conv':
      conv(g, b, node, x);
      return undefined;
    case 'BatchNormalization':
      batchNorm(g, b, node);
      return undefined;
    case 'Relu':
      b.relu(user);
      return undefined;
    case 'MaxPool':
    case 'AveragePool':
      pool(b, node, x);
      return undefined;
    case 'GlobalAveragePool':
      b.globalAvgPool(user);
      return [x[0]!, x[1]!, 1, 1];
    case 'ReduceMean': {
      const axes = g.opset >= 18 && opt(1) ? g.ints(opt(1)!, user) : a.ints('axes', null);
      const set = normalizeAxes(axes ?? [], x.length);
      if (x.length !== 4 || set.join() !== '2,3') {
        refuse(
          user,
          `a mean over axes [${axes?.join(', ') ?? 'all'}]; only over height and width (a global average pooling) is taken`,
        );
      }
      b.globalAvgPool(user);
      return a.int('keepdims', 1) ? [x[0]!, x[1]!, 1, 1] : [x[0]!, x[1]!];
    }
    case 'Pad':
      return pad(g, b, node, x);
    case 'Flatten': {
      const axis = a.int('axis', 1);
      if ((axis < 0 ? axis + x.length : axis) !== 1)
        refuse(user, `a flatten from axis ${axis}; only from axis 1 (keeping the batch) is taken`);
      b.flatten(user, 'chw');
      return [x[0]!, x.slice(1).reduce((p, q) => p * q, 1)];
    }
    case 'Reshape':
      reshape(g, b, node, x);
      return [x[0]!, x.slice(1).reduce((p, q) => p * q, 1)];
    case 'Squeeze': {
      const axes = g.opset >= 13 && opt(1) ? g.ints(opt(1)!, user) : a.ints('axes', null);
      const spatialOnes = x.length === 4 && x[2] === 1 && x[3] === 1;
      if (!spatialOnes || (axes && normalizeAxes(axes, 4).join() !== '2,3')) {
        refuse(user, 'a squeeze other than of a 1x1 map to [batch, channels]');
      }
      b.flatten(user, 'chw');
      return [x[0]!, x[1]!];
    }
    case 'Gemm':
    case 'MatMul':
      dense(g, b, node, x);
      return undefined;
    case 'Add': {
      if (x.length !== 2)
        refuse(
          user,
          "adding a constant to a map; only a dense layer's bias (MatMul + Add) is taken",
        );
      const other = inputs.find((n) => !g.data.has(n)) ?? '';
      b.addBias(user, biasOf(g.floats(other, user), x[1]!, user));
      return undefined;
    }
    case 'Dropout': {
      const rate =
        g.opset >= 12
          ? opt(1)
            ? shortestFloat32(g.floats(opt(1)!, user).values[0] ?? 0.5)
            : 0.5
          : a.float('ratio', 0.5);
      b.dropout(user, rate);
      return undefined;
    }
    case 'Identity':
      return undefined;
    case 'Softmax':
    case 'LogSoftmax':
      if (!last) refuse(user, `a ${op} is taken only at the end of the network`);
      b.notes.push(
        `${op} ${JSON.stringify(user.name)} dropped: filterscope's classifier outputs logits (the same predictions)`,
      );
      return x;
    default:
      return refuse(user, `op ${op} is not handled`);
  }
}

function conv(g: OnnxGraph, b: NetworkBuilder, node: onnx.INodeProto, x: readonly number[]): void {
  const user = nodeOf(node);
  const a = new Attributes(node);
  const inputs = node.input ?? [];
  const { dims, values } = g.floats(inputs[1] ?? '', user);
  if (dims.length !== 4 || x.length !== 4)
    refuse(user, `a ${dims.length - 2}-D convolution; only 2-D is taken`);
  const [f, cin, kh, kw] = dims as [number, number, number, number];
  const group = a.int('group', 1);
  if (group !== 1) refuse(user, `a grouped convolution (group ${group}); only group 1 is taken`);
  const dilations = a.ints('dilations', [1, 1]) ?? [];
  if (dilations.some((d) => d !== 1))
    refuse(user, `dilations [${dilations.join(', ')}]; only 1 is taken`);
  if (kh !== kw) refuse(user, `a ${kh}x${kw} kernel; only square kernels are taken`);
  const [sh = 1, sw = 1] = a.ints('strides', [1, 1]) ?? [];
  if (sh !== sw) refuse(user, `strides [${sh}, ${sw}]; only equal strides are taken`);
  const pads = convPads(a, x, kh, sh, user);
  const bias = inputs[2] ? g.floats(inputs[2], user).values : null;
  if (bias && bias.length !== f)
    throw new ImportError('BAD_WEIGHTS', `bias has ${bias.length} values for ${f} filters`, {
      node: user,
    });
  b.conv(user, {
    kernel: oihwToHwio(values, [f, cin, kh, kw]),
    size: kh,
    inChannels: cin,
    filters: f,
    stride: sh,
    pads,
    bias,
  });
}

function convPads(
  a: Attributes,
  x: readonly number[],
  k: number,
  s: number,
  user: SourceNode,
): ExplicitPadding {
  const autoPad = a.string('auto_pad', 'NOTSET');
  if (autoPad === 'VALID') return { top: 0, bottom: 0, left: 0, right: 0 };
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const [t, bt] = samePadding(x[2]!, k, s);
    const [l, r] = samePadding(x[3]!, k, s);
    return autoPad === 'SAME_UPPER'
      ? { top: t, bottom: bt, left: l, right: r }
      : { top: bt, bottom: t, left: r, right: l };
  }
  if (autoPad !== 'NOTSET') refuse(user, `auto_pad ${autoPad}`);
  const [top = 0, left = 0, bottom = 0, right = 0] = a.ints('pads', [0, 0, 0, 0]) ?? [];
  return { top, bottom, left, right };
}

function pool(b: NetworkBuilder, node: onnx.INodeProto, x: readonly number[]): void {
  const user = nodeOf(node);
  const a = new Attributes(node);
  const [kh = 0, kw = 0] = a.ints('kernel_shape', []) ?? [];
  const [sh = 1, sw = 1] = a.ints('strides', [1, 1]) ?? [];
  if (kh !== kw || sh !== sw)
    refuse(
      user,
      `a ${kh}x${kw} window with strides [${sh}, ${sw}]; only square windows and equal strides are taken`,
    );
  const pads = a.ints('pads', [0, 0, 0, 0]) ?? [];
  const autoPad = a.string('auto_pad', 'NOTSET');
  if (pads.some((p) => p !== 0) || (autoPad !== 'NOTSET' && autoPad !== 'VALID'))
    refuse(user, 'a padded pooling; only unpadded (valid) pooling is taken');
  if ((a.ints('dilations', [1, 1]) ?? []).some((d) => d !== 1)) refuse(user, 'a dilated pooling');
  if ((node.output ?? []).filter(Boolean).length > 1)
    refuse(user, 'a pooling whose indices are used');
  if (a.int('ceil_mode', 0) === 1) {
    const same = [x[2]!, x[3]!].every(
      (n) => Math.ceil((n - kh) / sh) === Math.floor((n - kh) / sh),
    );
    if (!same) refuse(user, 'ceil_mode 1 gives a larger output here; only floor mode is taken');
  }
  b.pool(user, node.opType === 'MaxPool' ? 'maxPool' : 'avgPool', kh, sh);
}

function reshape(
  g: OnnxGraph,
  b: NetworkBuilder,
  node: onnx.INodeProto,
  x: readonly number[],
): void {
  const user = nodeOf(node);
  const target = g.ints(node.input?.[1] ?? '', user);
  const features = x.slice(1).reduce((p, q) => p * q, 1);
  const allowZero = new Attributes(node).int('allowzero', 0) === 1;
  const [t0 = NaN, t1 = NaN] = target;
  const batchOk =
    Number.isNaN(t0) || (t0 === 0 && !allowZero) || t0 === x[0] || (t0 === -1 && t1 === features);
  const featuresOk = t1 === -1 || t1 === features;
  if (target.length !== 2 || !batchOk || !featuresOk) {
    const shown = target.map((v) => (Number.isNaN(v) ? 'batch' : v));
    refuse(
      user,
      `a reshape to [${shown.join(', ')}] of [${x.map((v) => (Number.isNaN(v) ? 'batch' : v)).join(', ')}]; only a flatten to [batch, features] is taken`,
    );
  }
  if (x.length === 4) b.flatten(user, 'chw');
}

function batchNorm(g: OnnxGraph, b: NetworkBuilder, node: onnx.INodeProto): void {
  const user = nodeOf(node);
  const a = new Attributes(node);
  const inputs = node.input ?? [];
  if (a.int('training_mode', 0) !== 0 || (node.output ?? []).filter(Boolean).length > 1) {
    refuse(user, 'batch norm exported in training mode: export the model in eval mode');
  }
  if (a.has('spatial') && a.int('spatial', 1) !== 1) refuse(user, 'non-spatial batch norm');
  const [gamma, beta, mean, variance] = [1, 2, 3, 4].map(
    (i) => g.floats(inputs[i] ?? '', user).values,
  ) as [Float32Array, Float32Array, Float32Array, Float32Array];
  b.batchNorm(user, { gamma, beta, mean, variance, epsilon: a.float('epsilon', 1e-5) });
}

function pad(
  g: OnnxGraph,
  b: NetworkBuilder,
  node: onnx.INodeProto,
  x: readonly number[],
): readonly number[] {
  const user = nodeOf(node);
  const a = new Attributes(node);
  const inputs = node.input ?? [];
  const opt = (i: number): string | undefined => (inputs[i] ? inputs[i] : undefined);
  const mode = a.string('mode', 'constant');
  const pads = g.opset >= 11 ? g.ints(inputs[1] ?? '', user) : (a.ints('pads', []) ?? []);
  const value =
    g.opset >= 11 ? (opt(2) ? (g.floats(opt(2)!, user).values[0] ?? 0) : 0) : a.float('value', 0);
  if (mode !== 'constant' || value !== 0 || opt(3) || x.length !== 4 || pads.length !== 8) {
    refuse(user, 'only zero padding of height and width is taken (before a convolution)');
  }
  const [n0, c0, top, left, n1, c1, bottom, right] = pads as number[];
  if (n0 || c0 || n1 || c1 || pads.some((p) => p < 0)) {
    refuse(user, `pads [${pads.join(', ')}] pad more than height and width`);
  }
  if (pads.some((p) => p > 0))
    b.pad(user, { top: top!, bottom: bottom!, left: left!, right: right! });
  return [x[0]!, x[1]!, x[2]! + top! + bottom!, x[3]! + left! + right!];
}
