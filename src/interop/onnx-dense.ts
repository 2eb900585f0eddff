import type { onnx } from 'onnx-proto';
import type { NetworkBuilder } from './builder.js';
import { ImportError, type SourceNode } from './errors.js';
import { transpose } from './layout.js';
import type { OnnxGraph } from './onnx-graph.js';
import { Attributes, nodeOf } from './onnx-values.js';

/** Dense layers in ONNX: Gemm, or MatMul (+ Add, see `biasOf`), on [batch, features]. */

export function dense(
  g: OnnxGraph,
  b: NetworkBuilder,
  node: onnx.INodeProto,
  x: readonly number[],
): void {
  const user = nodeOf(node);
  const a = new Attributes(node);
  const inputs = node.input ?? [];
  if (!g.data.has(inputs[0] ?? '') || x.length !== 2)
    refuseGraph(
      user,
      'a matrix product is taken only as a dense layer: image features [batch, features] times a constant matrix',
    );
  if (a.int('transA', 0) !== 0) refuseGraph(user, 'transA 1');
  const { dims, values } = g.floats(inputs[1] ?? '', user);
  if (dims.length !== 2) refuseGraph(user, `a weight of ${dims.length} dimensions`);
  const transB = a.int('transB', 0) === 1;
  const [inFeatures, units] = (transB ? [dims[1], dims[0]] : dims) as [number, number];
  let kernel = transB ? transpose(values, units, inFeatures) : values;
  const alpha = a.float('alpha', 1);
  if (alpha !== 1) kernel = kernel.map((v) => v * alpha);
  let bias: Float32Array | null = null;
  if (node.opType === 'Gemm' && inputs[2]) {
    const beta = a.float('beta', 1);
    bias = biasOf(g.floats(inputs[2], user), units, user).map((v) => v * beta);
  }
  b.dense(user, { kernel, inFeatures, units, bias });
}

/** A bias of `units` values (or one, broadcast): shape [units], [1, units] or a scalar. */
export function biasOf(
  c: { dims: readonly number[]; values: Float32Array },
  units: number,
  user: SourceNode,
): Float32Array {
  const ok = c.values.length === units || c.values.length === 1;
  if (!ok || c.dims.length > 2 || (c.dims.length === 2 && c.dims[0] !== 1)) {
    throw new ImportError(
      'BAD_WEIGHTS',
      `a bias of shape [${c.dims.join(', ')}] for ${units} units`,
      { node: user },
    );
  }
  return c.values.length === units ? c.values : new Float32Array(units).fill(c.values[0]!);
}

function refuseGraph(node: SourceNode, why: string): never {
  throw new ImportError('UNSUPPORTED_GRAPH', why, { node });
}
