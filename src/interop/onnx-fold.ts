import { onnx } from 'onnx-proto';
import { ImportError, type SourceNode } from './errors.js';
import { tensorValues, type Attributes, type Constant } from './onnx-values.js';

/**
 * Evaluation of the ops that compute constants from constants: the shape arithmetic exporters
 * write (PyTorch's `x.view(x.size(0), -1)`, and at opset 11 and later its `F.pad`, which builds
 * ONNX's pads from the PyTorch ones with ConstantOfShape, Concat, Reshape, Slice, Transpose).
 * Values are plain numbers, row-major; the batch size is NaN.
 */

/** Ops evaluated when all their inputs are constants (plus Constant and Shape, in onnx-graph.ts). */
export const CONSTANT_OPS = [
  'Constant',
  'Shape',
  'Identity',
  'Cast',
  'Gather',
  'Unsqueeze',
  'Squeeze',
  'Concat',
  'Slice',
  'Reshape',
  'Transpose',
  'ConstantOfShape',
  'Add',
  'Sub',
  'Mul',
  'Div',
] as const;

const FLOAT_TYPES: readonly number[] = [
  onnx.TensorProto.DataType.FLOAT,
  onnx.TensorProto.DataType.DOUBLE,
  onnx.TensorProto.DataType.FLOAT16,
  onnx.TensorProto.DataType.BFLOAT16,
];

const valuesOf = (c: Constant): number[] => (c.ints ? [...c.ints] : Array.from(c.floats ?? []));
const make = (dims: readonly number[], values: number[], float: boolean): Constant =>
  float
    ? { dims, floats: Float32Array.from(values), ints: null }
    : { dims, floats: null, ints: values };
const size = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);
const stridesOf = (dims: readonly number[]): number[] =>
  dims.map((_, i) => size(dims.slice(i + 1)));
const axis = (v: number, rank: number): number => (v < 0 ? v + rank : v);

/**
 * The value of `op` on constant `args`. `arg(i)` is input i (absent inputs are not asked for).
 */
export function fold(
  op: string,
  inputs: readonly string[],
  arg: (i: number) => Constant,
  a: Attributes,
  opset: number,
  user: SourceNode,
): Constant {
  const x = (): Constant => arg(0);
  const ints = (i: number): number[] => valuesOf(arg(i));
  const float = (c: Constant): boolean => c.floats !== null;
  switch (op) {
    case 'Identity':
      return x();
    case 'Cast': {
      const toFloat = FLOAT_TYPES.includes(a.int('to', 1));
      const values = valuesOf(x()).map((v) => (toFloat ? v : Math.trunc(v)));
      return make(x().dims, values, toFloat);
    }
    case 'Gather': {
      const data = x();
      const index = arg(1);
      const at = axis(a.int('axis', 0), data.dims.length);
      const outer = size(data.dims.slice(0, at));
      const n = data.dims[at] ?? 1;
      const inner = size(data.dims.slice(at + 1));
      const values = valuesOf(data);
      const out: number[] = [];
      for (let o = 0; o < outer; o++)
        for (const i of valuesOf(index)) {
          const k = i < 0 ? i + n : i;
          out.push(...values.slice((o * n + k) * inner, (o * n + k + 1) * inner));
        }
      const dims = [...data.dims.slice(0, at), ...index.dims, ...data.dims.slice(at + 1)];
      return make(dims, out, float(data));
    }
    case 'Unsqueeze':
    case 'Squeeze': {
      const axes = opset >= 13 && inputs[1] ? ints(1) : [...(a.ints('axes', null) ?? [])];
      let dims = [...x().dims];
      if (op === 'Unsqueeze') {
        const rank = dims.length + axes.length;
        for (const at of axes.map((v) => axis(v, rank)).sort((p, q) => p - q))
          dims.splice(at, 0, 1);
      } else {
        const drop = new Set(axes.map((v) => axis(v, dims.length)));
        dims = dims.filter((d, i) => (drop.size === 0 ? d !== 1 : !drop.has(i)));
      }
      return { ...x(), dims };
    }
    case 'Concat': {
      const parts = inputs.map((_, i) => arg(i));
      const first = parts[0] ?? x();
      const at = axis(a.int('axis', 0), first.dims.length);
      const outer = size(first.dims.slice(0, at));
      const chunks = parts.map((p) => ({ values: valuesOf(p), n: size(p.dims.slice(at)) }));
      const out: number[] = [];
      for (let o = 0; o < outer; o++)
        for (const c of chunks) out.push(...c.values.slice(o * c.n, (o + 1) * c.n));
      const dims = [...first.dims];
      dims[at] = parts.reduce((n, p) => n + (p.dims[at] ?? 1), 0);
      return make(dims, out, parts.some(float));
    }
    case 'Slice':
      return slice(x(), opset >= 10 ? sliceArgs(inputs, ints) : sliceAttrs(a));
    case 'Reshape': {
      const target = ints(1);
      const allowZero = a.int('allowzero', 0) === 1;
      const dims = target.map((d, i) => (d === 0 && !allowZero ? (x().dims[i] ?? 0) : d));
      const known = size(dims.filter((d) => d !== -1));
      return { ...x(), dims: dims.map((d) => (d === -1 ? size(x().dims) / known : d)) };
    }
    case 'Transpose': {
      const data = x();
      const rank = data.dims.length;
      const perm = a.ints('perm', null) ?? data.dims.map((_, i) => rank - 1 - i);
      const dims = perm.map((p) => data.dims[p] ?? 1);
      const from = stridesOf(data.dims);
      const values = valuesOf(data);
      const out = indices(dims).map(
        (index) => values[index.reduce((sum, v, i) => sum + v * (from[perm[i] ?? 0] ?? 0), 0)]!,
      );
      return make(dims, out, float(data));
    }
    case 'ConstantOfShape': {
      const fill = a.has('value') ? tensorValues(a.tensor('value'), user) : null;
      const dims = ints(0);
      const v = fill ? (valuesOf(fill)[0] ?? 0) : 0;
      return make(dims, new Array<number>(size(dims)).fill(v), fill ? float(fill) : true);
    }
    case 'Add':
    case 'Sub':
    case 'Mul':
    case 'Div': {
      const [p, q] = [arg(0), arg(1)];
      const isFloat = float(p) || float(q);
      const [u, w] = [valuesOf(p), valuesOf(q)];
      const n = Math.max(u.length, w.length);
      const pick = (v: number[], i: number): number => v[v.length === 1 ? 0 : i] ?? NaN;
      const values = Array.from({ length: n }, (_, i) =>
        arithmetic(op, pick(u, i), pick(w, i), isFloat),
      );
      return make(u.length >= w.length ? p.dims : q.dims, values, isFloat);
    }
    default:
      throw new ImportError(
        'UNSUPPORTED_OP',
        'computes a constant with an op filterscope does not evaluate',
        { node: user, supported: CONSTANT_OPS },
      );
  }
}

interface SliceArgs {
  readonly starts: readonly number[];
  readonly ends: readonly number[];
  readonly axes: readonly number[] | null;
  readonly steps: readonly number[] | null;
}

function sliceArgs(inputs: readonly string[], ints: (i: number) => number[]): SliceArgs {
  return {
    starts: ints(1),
    ends: ints(2),
    axes: inputs[3] ? ints(3) : null,
    steps: inputs[4] ? ints(4) : null,
  };
}

function sliceAttrs(a: Attributes): SliceArgs {
  return {
    starts: a.ints('starts', []) ?? [],
    ends: a.ints('ends', []) ?? [],
    axes: a.ints('axes', null),
    steps: null,
  };
}

/** ONNX Slice on any rank, negative steps included. */
function slice(data: Constant, s: SliceArgs): Constant {
  const rank = data.dims.length;
  const start = data.dims.map(() => 0);
  const step = data.dims.map(() => 1);
  const count = [...data.dims];
  (s.axes ?? s.starts.map((_, i) => i)).forEach((raw, i) => {
    const at = axis(raw, rank);
    const n = data.dims[at] ?? 1;
    const st = s.steps?.[i] ?? 1;
    const clamp = (v: number, lo: number, hi: number): number =>
      Math.min(Math.max(v < 0 ? v + n : v, lo), hi);
    const [b, e] =
      st > 0
        ? [clamp(s.starts[i] ?? 0, 0, n), clamp(s.ends[i] ?? n, 0, n)]
        : [clamp(s.starts[i] ?? n - 1, 0, n - 1), clamp(s.ends[i] ?? -n - 1, -1, n - 1)];
    start[at] = b;
    step[at] = st;
    count[at] = Math.max(0, Math.ceil((e - b) / st));
  });
  const from = stridesOf(data.dims);
  const values = valuesOf(data);
  const out = indices(count).map(
    (index) => values[index.reduce((sum, v, i) => sum + (start[i]! + v * step[i]!) * from[i]!, 0)]!,
  );
  return make(count, out, data.floats !== null);
}

/** Every index of a tensor of `dims`, row-major. */
function indices(dims: readonly number[]): number[][] {
  let out: number[][] = [[]];
  for (const d of dims)
    out = out.flatMap((prefix) => Array.from({ length: d }, (_, i) => [...prefix, i]));
  return out;
}

function arithmetic(op: string, x: number, y: number, floats: boolean): number {
  switch (op) {
    case 'Add':
      return x + y;
    case 'Sub':
      return x - y;
    case 'Mul':
      return x * y;
    default:
      return floats ? x / y : Math.trunc(x / y);
  }
}
