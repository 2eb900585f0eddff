import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DatasetFileError } from '../../../src/data/idx.js';

/** Builders of small dataset files in the real formats, for the loader tests. */

/** IDX content: magic 00 00, type, dimension count, big-endian dims, then the bytes. */
export function idxBytes(
  dims: readonly number[],
  data: ArrayLike<number>,
  header: { type?: number; ndims?: number; magic?: [number, number] } = {},
): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const [m0, m1] = header.magic ?? [0, 0];
  out[0] = m0;
  out[1] = m1;
  out[2] = header.type ?? 0x08;
  out[3] = header.ndims ?? dims.length;
  const view = new DataView(out.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(Array.from(data), 4 + 4 * dims.length);
  return out;
}

/** Deterministic image bytes: value = (31 n + 7 y + 3 x + c) mod 256. */
export function pattern(count: number, rows: number, cols: number, channels = 1): Uint8Array {
  const out = new Uint8Array(count * rows * cols * channels);
  let i = 0;
  for (let n = 0; n < count; n++) {
    for (let y = 0; y < rows; y++) {
      for (let x = 0; x < cols; x++) {
        for (let c = 0; c < channels; c++) out[i++] = (31 * n + 7 * y + 3 * x + c) & 255;
      }
    }
  }
  return out;
}

/**
 * CIFAR binary content from channels-last images: per record the label byte(s), then the R, G
 * and B planes of 32 x 32, each row major.
 */
export function cifarBytes(images: Uint8Array, labels: readonly (readonly number[])[]): Uint8Array {
  const labelBytes = labels[0]?.length ?? 1;
  const record = labelBytes + 3072;
  const out = new Uint8Array(labels.length * record);
  labels.forEach((label, n) => {
    const base = n * record;
    label.forEach((v, b) => (out[base + b] = v));
    for (let p = 0; p < 1024; p++) {
      for (let c = 0; c < 3; c++) {
        out[base + labelBytes + c * 1024 + p] = images[(n * 1024 + p) * 3 + c] ?? 0;
      }
    }
  });
  return out;
}

export const gzip = (content: Uint8Array): Uint8Array => gzipSync(content);

/** A temporary folder, removed by `remove()`. */
export class TempDir {
  readonly path = mkdtempSync(join(tmpdir(), 'filterscope-data-'));

  /** Writes `content` at `relative` (folders created) and returns the absolute path. */
  write(relative: string, content: Uint8Array): string {
    const file = join(this.path, relative);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
    return file;
  }

  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

/** Runs `f`, expects a DatasetFileError and returns it. */
export function fileError(f: () => unknown): DatasetFileError {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(DatasetFileError);
    return error as DatasetFileError;
  }
  throw new Error('expected a DatasetFileError, nothing was thrown');
}
