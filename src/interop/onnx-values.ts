import { onnx } from 'onnx-proto';
import { ImportError, type SourceNode } from './errors.js';
import { float32FromBytes, halfToFloat } from './layout.js';

/**
 * ONNX tensors and attributes as plain values. int64 fields arrive as protobufjs `Long`s (or
 * numbers); tensors hold their values in `raw_data` (little-endian) or in a typed field.
 */

type IntLike = number | { toNumber(): number };

/**
 * The shortest decimal that is the same float32: attributes are float32, so 0.1 arrives as
 * 0.10000000149011612 and 1e-5 as 9.99999975e-6; specs hold the decimal a user wrote.
 */
export function shortestFloat32(x: number): number {
  for (let digits = 1; digits < 17; digits++) {
    const v = Number(x.toPrecision(digits));
    if (Math.fround(v) === Math.fround(x)) return v;
  }
  return x;
}

export const toInt = (v: IntLike | null | undefined): number =>
  v === null || v === undefined ? 0 : typeof v === 'number' ? v : v.toNumber();

/** A constant: float values (weights) or integers (shapes, axes; NaN stands for the batch). */
export interface Constant {
  readonly dims: readonly number[];
  readonly floats: Float32Array | null;
  readonly ints: readonly number[] | null;
}

const { DataType } = onnx.TensorProto;

export const nodeOf = (node: onnx.INodeProto): SourceNode => ({
  name: node.name || `(unnamed, output ${JSON.stringify(node.output?.[0] ?? '')})`,
  opType: node.opType ?? '',
});

/**
 * The values of a tensor. Weights stored outside the file (`data_location: EXTERNAL`) cannot
 * be read from the upload: MISSING_WEIGHTS.
 */
export function tensorValues(tensor: onnx.ITensorProto, user: SourceNode | undefined): Constant {
  const name = tensor.name ?? '';
  if (tensor.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    throw new ImportError(
      'MISSING_WEIGHTS',
      `tensor ${JSON.stringify(name)} is stored in a separate file (external data); export the model with its weights inside the .onnx file`,
      user ? { node: user } : {},
    );
  }
  const dims = (tensor.dims ?? []).map(toInt);
  const count = dims.reduce((a, b) => a * b, 1);
  const raw = tensor.rawData && tensor.rawData.length > 0 ? tensor.rawData : null;
  const type = tensor.dataType ?? 0;
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : null;
  const bad = (why: string): never => {
    throw new ImportError('BAD_WEIGHTS', `tensor ${JSON.stringify(name)}: ${why}`, {
      ...(user ? { node: user } : {}),
    });
  };
  const sized = <T extends { length: number }>(values: T, bytes?: number): T => {
    if (raw && bytes !== undefined && raw.byteLength !== count * bytes) {
      bad(`${raw.byteLength} bytes of data for ${count} values of ${bytes} bytes`);
    }
    if (values.length !== count) bad(`${values.length} values for dims [${dims.join(', ')}]`);
    return values;
  };
  switch (type) {
    case DataType.FLOAT:
      return {
        dims,
        floats: sized(raw ? float32FromBytes(raw) : Float32Array.from(tensor.floatData ?? []), 4),
        ints: null,
      };
    case DataType.DOUBLE: {
      const values = view
        ? Float32Array.from({ length: raw!.byteLength / 8 }, (_, i) => view.getFloat64(8 * i, true))
        : Float32Array.from(tensor.doubleData ?? []);
      return { dims, floats: sized(values, 8), ints: null };
    }
    case DataType.FLOAT16:
    case DataType.BFLOAT16: {
      const bits = view
        ? Array.from({ length: raw!.byteLength / 2 }, (_, i) => view.getUint16(2 * i, true))
        : (tensor.int32Data ?? []);
      const convert =
        type === DataType.FLOAT16
          ? halfToFloat
          : (b: number) => new Float32Array(new Uint32Array([b << 16]).buffer)[0] as number;
      return { dims, floats: sized(Float32Array.from(bits, convert), 2), ints: null };
    }
    case DataType.INT64: {
      const values = view
        ? Array.from({ length: raw!.byteLength / 8 }, (_, i) =>
            Number(view.getBigInt64(8 * i, true)),
          )
        : (tensor.int64Data ?? []).map(toInt);
      return { dims, floats: null, ints: sized(values, 8) };
    }
    case DataType.INT32:
    case DataType.INT16:
    case DataType.INT8:
    case DataType.UINT16:
    case DataType.UINT8:
    case DataType.BOOL: {
      const width =
        type === DataType.INT32 ? 4 : type === DataType.INT16 || type === DataType.UINT16 ? 2 : 1;
      const read = (i: number): number =>
        width === 4
          ? view!.getInt32(4 * i, true)
          : width === 2
            ? type === DataType.INT16
              ? view!.getInt16(2 * i, true)
              : view!.getUint16(2 * i, true)
            : type === DataType.INT8
              ? view!.getInt8(i)
              : view!.getUint8(i);
      const values = view
        ? Array.from({ length: raw!.byteLength / width }, (_, i) => read(i))
        : (tensor.int32Data ?? []).slice();
      return { dims, floats: null, ints: sized(values, width) };
    }
    default:
      return bad(
        `data type ${DataType[type] ?? type} is not supported (float, double, float16, integers)`,
      );
  }
}

/** A node's attributes by name, with defaults. */
export class Attributes {
  private readonly byName: Map<string, onnx.IAttributeProto>;

  constructor(private readonly node: onnx.INodeProto) {
    this.byName = new Map((node.attribute ?? []).map((a) => [a.name ?? '', a]));
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  int(name: string, fallback: number): number {
    const a = this.byName.get(name);
    return a ? toInt(a.i) : fallback;
  }

  ints(name: string, fallback: readonly number[] | null): readonly number[] | null {
    const a = this.byName.get(name);
    return a ? (a.ints ?? []).map(toInt) : fallback;
  }

  /** A float attribute, as the shortest decimal of its float32 value. */
  float(name: string, fallback: number): number {
    const a = this.byName.get(name);
    return a ? shortestFloat32(a.f ?? 0) : fallback;
  }

  string(name: string, fallback: string): string {
    const a = this.byName.get(name);
    return a?.s ? new TextDecoder().decode(a.s) : fallback;
  }

  tensor(name: string): onnx.ITensorProto {
    return this.byName.get(name)?.t ?? {};
  }

  /** A Constant node's value, whichever attribute holds it. */
  constant(): Constant {
    const user = nodeOf(this.node);
    const a = (this.node.attribute ?? [])[0];
    switch (a?.name) {
      case 'value':
        return tensorValues(a.t ?? {}, user);
      case 'value_float':
        return { dims: [], floats: Float32Array.of(a.f ?? 0), ints: null };
      case 'value_floats':
        return {
          dims: [a.floats?.length ?? 0],
          floats: Float32Array.from(a.floats ?? []),
          ints: null,
        };
      case 'value_int':
        return { dims: [], floats: null, ints: [toInt(a.i)] };
      case 'value_ints':
        return { dims: [a.ints?.length ?? 0], floats: null, ints: (a.ints ?? []).map(toInt) };
      default:
        throw new ImportError('UNSUPPORTED_GRAPH', `a Constant with ${a?.name ?? 'no value'}`, {
          node: user,
        });
    }
  }
}
