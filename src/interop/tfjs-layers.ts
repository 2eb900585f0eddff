import { samePadding } from '../architecture/index.js';
import type { NetworkBuilder } from './builder.js';
import { ImportError, type SourceNode } from './errors.js';

/** One Keras layer after another into the builder: settings checked, weights looked up. */

export type Json = Record<string, unknown>;

/** A layer of the topology, with the names of the layers that feed it per inbound node. */
export interface Layer {
  readonly className: string;
  readonly name: string;
  readonly config: Json;
  readonly inbound: readonly string[][];
}

/** Activations a Conv2D, Dense or Activation layer may have (softmax only at the very end). */
const ACTIVATIONS = ['relu', 'linear', 'softmax (last layer only)'];

const pair = (v: unknown, fallback: number): [number, number] =>
  typeof v === 'number'
    ? [v, v]
    : Array.isArray(v)
      ? [Number(v[0]), Number(v[1] ?? v[0])]
      : [fallback, fallback];

/** What a layer's handler works with. */
interface Context {
  readonly b: NetworkBuilder;
  readonly layer: Layer;
  readonly node: SourceNode;
  readonly c: Json;
  /** A weight of this layer, checked against the shape the layer needs. */
  weight(name: string, shape: readonly number[]): Float32Array;
  refuse(why: string): never;
  /** An activation setting: ReLU, nothing, or a final softmax (dropped). */
  activation(value: unknown): void;
}

const HANDLERS: Record<string, (x: Context) => void> = {
  InputLayer: () => undefined,
  Conv2D: conv2d,
  BatchNormalization: batchNorm,
  ReLU: relu,
  Activation: (x) => x.activation(x.c.activation),
  MaxPooling2D: pooling,
  AveragePooling2D: pooling,
  GlobalAveragePooling2D: (x) => x.b.globalAvgPool(x.node),
  ZeroPadding2D: zeroPadding,
  Flatten: (x) => x.b.flatten(x.node, 'hwc'),
  Dense: dense,
  Dropout: (x) => x.b.dropout(x.node, typeof x.c.rate === 'number' ? x.c.rate : 0),
};

/** Feeds one layer (of a class in SUPPORTED_TFJS_LAYERS) to the builder. */
export function applyLayer(
  b: NetworkBuilder,
  layer: Layer,
  last: boolean,
  values: Map<string, { shape: readonly number[]; values: Float32Array }>,
): void {
  const node: SourceNode = { name: layer.name, opType: layer.className };
  const refuse = (why: string): never => {
    throw new ImportError('UNSUPPORTED_GRAPH', why, { node });
  };
  const weight = (w: string, shape: readonly number[]): Float32Array => {
    const key = `${layer.name}/${w}`;
    const found = values.get(key) ?? uniqueSuffix(values, `/${key}`);
    if (!found) {
      throw new ImportError('MISSING_WEIGHTS', `weight ${key} is not in the weights manifest`, {
        node,
      });
    }
    if (found.shape.join('x') !== shape.join('x')) {
      throw new ImportError(
        'BAD_WEIGHTS',
        `weight ${key} has shape [${found.shape.join(', ')}], the layer needs [${shape.join(', ')}]`,
        { node },
      );
    }
    return found.values;
  };
  const activation = (value: unknown): void => {
    const name = value ?? 'linear';
    if (name === 'relu') {
      b.relu(node);
    } else if (name === 'softmax' && last) {
      b.notes.push(
        `${layer.className} ${JSON.stringify(layer.name)}: softmax dropped, filterscope's classifier outputs logits (the same predictions)`,
      );
    } else if (name !== 'linear') {
      throw new ImportError(
        'UNSUPPORTED_OP',
        `activation ${JSON.stringify(name)} is not supported`,
        { node, supported: ACTIVATIONS },
      );
    }
  };
  const c = layer.config;
  if (c.data_format === 'channels_first')
    refuse('channels_first data; only channels_last is taken');
  HANDLERS[layer.className]?.({ b, layer, node, c, weight, refuse, activation });
}

function conv2d({ b, node, c, weight, refuse, activation }: Context): void {
  const [kh, kw] = pair(c.kernel_size, 1);
  const [sh, sw] = pair(c.strides, 1);
  const [dh, dw] = pair(c.dilation_rate, 1);
  if (kh !== kw) refuse(`a ${kh}x${kw} kernel; only square kernels are taken`);
  if (sh !== sw) refuse(`strides [${sh}, ${sw}]; only equal strides are taken`);
  if (dh !== 1 || dw !== 1) refuse(`dilation rate [${dh}, ${dw}]; only 1 is taken`);
  if ((c.groups ?? 1) !== 1) refuse(`a grouped convolution (groups ${String(c.groups)})`);
  const shape = b.shape;
  if (shape.length !== 3)
    refuse('a convolution after a flatten, a dense layer or a global pooling');
  const [h = 0, w = 0, cin = 0] = shape;
  const filters = Number(c.filters);
  let pads = { top: 0, bottom: 0, left: 0, right: 0 };
  if (c.padding === 'same') {
    const [top, bottom] = samePadding(h, kh, sh);
    const [left, right] = samePadding(w, kh, sh);
    pads = { top, bottom, left, right };
  } else if ((c.padding ?? 'valid') !== 'valid') {
    refuse(`padding ${JSON.stringify(c.padding)}`);
  }
  b.conv(node, {
    kernel: weight('kernel', [kh, kh, cin, filters]),
    size: kh,
    inChannels: cin,
    filters,
    stride: sh,
    pads,
    bias: c.use_bias === false ? null : weight('bias', [filters]),
  });
  activation(c.activation);
}

function batchNorm({ b, node, c, weight, refuse }: Context): void {
  const axis = Array.isArray(c.axis) && c.axis.length === 1 ? c.axis[0] : (c.axis ?? -1);
  if (axis !== -1 && axis !== 3) {
    refuse(`batch norm over axis ${JSON.stringify(c.axis)}; only over channels (-1) is taken`);
  }
  const f = b.shape.at(-1) ?? 0;
  b.batchNorm(node, {
    gamma: c.scale === false ? new Float32Array(f).fill(1) : weight('gamma', [f]),
    beta: c.center === false ? new Float32Array(f) : weight('beta', [f]),
    mean: weight('moving_mean', [f]),
    variance: weight('moving_variance', [f]),
    // Keras' default.
    epsilon: typeof c.epsilon === 'number' ? c.epsilon : 1e-3,
  });
}

function relu({ b, node, c, refuse }: Context): void {
  const plain = (v: unknown, zero: number | null): boolean =>
    v === undefined || v === null || v === zero;
  if (!plain(c.max_value, null) || !plain(c.negative_slope, 0) || !plain(c.threshold, 0)) {
    refuse('a ReLU with max_value, negative_slope or threshold; only the plain ReLU is taken');
  }
  b.relu(node);
}

function pooling({ b, layer, node, c, refuse }: Context): void {
  const [ph, pw] = pair(c.pool_size, 2);
  const [sh, sw] = c.strides === null || c.strides === undefined ? [ph, pw] : pair(c.strides, ph);
  if (ph !== pw || sh !== sw) {
    refuse(
      `a ${ph}x${pw} window with strides [${sh}, ${sw}]; only square windows and equal strides are taken`,
    );
  }
  if (c.padding === 'same') {
    const [h = 0, w = 0] = b.shape;
    const zero = [h, w].every((n) => samePadding(n, ph, sh).every((p) => p === 0));
    if (!zero) refuse("'same' pooling that pads; only 'valid' pooling is taken");
  }
  b.pool(node, layer.className === 'MaxPooling2D' ? 'maxPool' : 'avgPool', ph, sh);
}

/** Keras' padding: n (all sides), [rows, cols] (each symmetric) or [[top, bottom], [left, right]]. */
function zeroPadding({ b, node, c }: Context): void {
  const p = c.padding ?? 1;
  const nested = Array.isArray(p) && Array.isArray(p[0]);
  const [rows, cols] = pair(p, 1);
  const [top, bottom] = nested ? pair(p[0], 0) : [rows, rows];
  const [left, right] = nested ? pair((p as unknown[])[1], 0) : [cols, cols];
  b.pad(node, { top, bottom, left, right });
}

function dense({ b, node, c, weight, refuse, activation }: Context): void {
  if (b.shape.length !== 1) {
    refuse(`a dense layer on a ${b.shape.join('x')} map; flatten it first`);
  }
  const inFeatures = b.shape.reduce((p, q) => p * q, 1);
  const units = Number(c.units);
  b.dense(node, {
    kernel: weight('kernel', [inFeatures, units]),
    inFeatures,
    units,
    bias: c.use_bias === false ? null : weight('bias', [units]),
  });
  activation(c.activation);
}

function uniqueSuffix<T>(values: Map<string, T>, suffix: string): T | undefined {
  const hits = [...values.keys()].filter((k) => k.endsWith(suffix));
  return hits.length === 1 ? values.get(hits[0] as string) : undefined;
}
