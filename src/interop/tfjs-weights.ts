import { ImportError } from './errors.js';
import { halfToFloat } from './layout.js';

/**
 * The weights of a TensorFlow.js layers model: `weightsManifest` groups, each a list of weight
 * specs stored back to back in the group's files (`paths`, shards of one byte stream).
 */

export interface WeightSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: string;
  readonly quantization?: {
    readonly dtype: string;
    readonly scale?: number;
    readonly min?: number;
  };
}

export interface ManifestGroup {
  readonly paths: readonly string[];
  readonly weights: readonly WeightSpec[];
}

/**
 * The weight files' bytes: either every file of the manifest concatenated in manifest order
 * (groups in order, each group's paths in order: what `tf.io` hands a save handler as
 * `weightData`), or a map from path to bytes (an upload of separate files; a path is also found
 * by its base name, as browsers upload files without folders).
 */
export type WeightFiles = Uint8Array | ReadonlyMap<string, Uint8Array>;

const BYTES: Record<string, number> = {
  float32: 4,
  int32: 4,
  uint16: 2,
  uint8: 1,
  float16: 2,
  bool: 1,
};

function storedBytes(spec: WeightSpec): number {
  const dtype = spec.quantization?.dtype ?? spec.dtype;
  const width = BYTES[dtype];
  if (width === undefined) {
    throw new ImportError(
      'BAD_WEIGHTS',
      `weight ${spec.name} is stored as ${dtype}, not a number type`,
    );
  }
  return width * spec.shape.reduce((a, b) => a * b, 1);
}

/** Every weight by manifest name, as float32 values. */
export function readWeights(
  manifest: readonly ManifestGroup[],
  files: WeightFiles,
): Map<string, { shape: readonly number[]; values: Float32Array }> {
  const needed = manifest.map((g) => g.weights.reduce((n, w) => n + storedBytes(w), 0));
  const total = needed.reduce((a, b) => a + b, 0);
  let groups: Uint8Array[];
  if (files instanceof Uint8Array) {
    if (files.length < total) {
      throw new ImportError(
        'SHORT_WEIGHTS',
        `the weights need ${total} bytes, the weight files have ${files.length}`,
      );
    }
    if (files.length > total) {
      throw new ImportError(
        'EXTRA_WEIGHTS',
        `the weights need ${total} bytes, the weight files have ${files.length} (other files?)`,
      );
    }
    let at = 0;
    groups = needed.map((n) => files.subarray(at, (at += n)));
  } else {
    groups = manifest.map((group, i) => {
      const parts = group.paths.map((path) => {
        const base = path.split('/').at(-1) ?? path;
        const bytes = files.get(path) ?? files.get(base);
        if (!bytes) {
          throw new ImportError(
            'MISSING_WEIGHTS',
            `weight file ${JSON.stringify(path)} of the manifest was not given (given: ${[...files.keys()].map((k) => JSON.stringify(k)).join(', ') || 'none'})`,
          );
        }
        return bytes;
      });
      const size = parts.reduce((n, p) => n + p.length, 0);
      const want = needed[i] as number;
      if (size !== want) {
        throw new ImportError(
          size < want ? 'SHORT_WEIGHTS' : 'EXTRA_WEIGHTS',
          `weight files ${group.paths.map((p) => JSON.stringify(p)).join(', ')} have ${size} bytes, their weights need ${want}`,
        );
      }
      const joined = new Uint8Array(size);
      let at = 0;
      for (const p of parts) {
        joined.set(p, at);
        at += p.length;
      }
      return joined;
    });
  }
  const out = new Map<string, { shape: readonly number[]; values: Float32Array }>();
  manifest.forEach((group, g) => {
    const bytes = groups[g] as Uint8Array;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let at = 0;
    for (const spec of group.weights) {
      const n = spec.shape.reduce((a, b) => a * b, 1);
      out.set(spec.name, { shape: spec.shape, values: decode(spec, view, at, n) });
      at += storedBytes(spec);
    }
  });
  return out;
}

function decode(spec: WeightSpec, view: DataView, at: number, n: number): Float32Array {
  const q = spec.quantization;
  const values = new Float32Array(n);
  const dtype = q?.dtype ?? spec.dtype;
  for (let i = 0; i < n; i++) {
    switch (dtype) {
      case 'float32':
        values[i] = view.getFloat32(at + 4 * i, true);
        break;
      case 'int32':
        values[i] = view.getInt32(at + 4 * i, true);
        break;
      case 'float16':
        values[i] = halfToFloat(view.getUint16(at + 2 * i, true));
        break;
      case 'uint16':
        values[i] = view.getUint16(at + 2 * i, true);
        break;
      default:
        values[i] = view.getUint8(at + i);
    }
  }
  if (q && (q.dtype === 'uint8' || q.dtype === 'uint16')) {
    // Affine quantization: value = q * scale + min.
    const scale = q.scale ?? 1;
    const min = q.min ?? 0;
    for (let i = 0; i < n; i++) values[i] = (values[i] as number) * scale + min;
  }
  return values;
}
