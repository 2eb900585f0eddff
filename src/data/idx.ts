import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type { Split } from './types.js';

/**
 * Readers for the IDX files of MNIST and Fashion-MNIST (idx3 images, idx1 labels), gzipped or
 * not. Every check that fails names the file, the byte offset and what was expected against what
 * was found, so that a truncated download or a swapped file is obvious from the message alone.
 */

/**
 * A dataset file that does not hold what its format promises. `offset` is a byte offset into the
 * file's content; for a gzipped file that is the decompressed content.
 */
export class DatasetFileError extends Error {
  override readonly name = 'DatasetFileError';

  constructor(
    readonly file: string,
    readonly offset: number,
    readonly expected: string,
    readonly found: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: at byte ${offset}: expected ${expected}, found ${found}`, options);
  }
}

/** An IDX array of unsigned bytes: its dimensions and its values, row major. */
export interface IdxArray {
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

/** IDX type code of unsigned bytes, the only type MNIST-style files use. */
const IDX_UBYTE = 0x08;

/**
 * Reads a file and gunzips it when it starts with the gzip magic bytes 1f 8b (whatever its name).
 * A corrupt gzip stream is reported as a {@link DatasetFileError} at offset 0.
 */
export function readMaybeGzipped(file: string): Uint8Array {
  const raw = readFileSync(file);
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      return gunzipSync(raw);
    } catch (error) {
      throw new DatasetFileError(
        file,
        0,
        'a complete gzip stream',
        `a gzip error (${(error as Error).message})`,
        { cause: error },
      );
    }
  }
  return raw;
}

/**
 * Parses IDX content of unsigned bytes with `ndims` dimensions: magic 00 00, type 0x08, the
 * dimension count, then one big-endian uint32 per dimension, then exactly the product of the
 * dimensions in bytes. `file` only names the source in errors. The returned `data` is a copy.
 */
export function parseIdx(content: Uint8Array, ndims: number, file: string): IdxArray {
  const hex = (v: number): string => `0x${v.toString(16).padStart(2, '0')}`;
  if (content.length < 4) {
    throw new DatasetFileError(
      file,
      content.length,
      'the 4 IDX magic bytes',
      `the end of the file after ${content.length} bytes`,
    );
  }
  if (content[0] !== 0 || content[1] !== 0) {
    throw new DatasetFileError(
      file,
      0,
      'the IDX magic bytes 0x00 0x00',
      `${hex(content[0] ?? 0)} ${hex(content[1] ?? 0)}`,
    );
  }
  if (content[2] !== IDX_UBYTE) {
    throw new DatasetFileError(
      file,
      2,
      `the IDX type code ${hex(IDX_UBYTE)} (unsigned byte)`,
      hex(content[2] ?? 0),
    );
  }
  if (content[3] !== ndims) {
    throw new DatasetFileError(file, 3, `${ndims} dimensions`, `${content[3] ?? 0}`);
  }
  const headerSize = 4 + 4 * ndims;
  if (content.length < headerSize) {
    throw new DatasetFileError(
      file,
      content.length,
      `an IDX header of ${headerSize} bytes (${ndims} dimensions)`,
      `the end of the file after ${content.length} bytes`,
    );
  }
  const view = new DataView(content.buffer, content.byteOffset, content.byteLength);
  const dims: number[] = [];
  for (let d = 0; d < ndims; d++) dims.push(view.getUint32(4 + 4 * d, false));
  const payload = dims.reduce((a, b) => a * b, 1);
  const expectedLength = headerSize + payload;
  if (content.length !== expectedLength) {
    const truncated = content.length < expectedLength;
    throw new DatasetFileError(
      file,
      truncated ? content.length : expectedLength,
      `${expectedLength} bytes (a ${headerSize}-byte header + ${dims.join(' x ')} values)`,
      truncated
        ? `the end of the file after ${content.length} bytes`
        : `${content.length - expectedLength} extra bytes (${content.length} in all)`,
    );
  }
  // A plain copy: `content` is often a Buffer, whose slice() is a view of the whole file.
  return { dims, data: new Uint8Array(content.subarray(headerSize)) };
}

/** Images of an idx3 file: `count` images of `rows` x `cols` bytes, row major. */
export interface IdxImages {
  readonly count: number;
  readonly rows: number;
  readonly cols: number;
  /** count * rows * cols bytes (0-255). */
  readonly images: Uint8Array;
}

/**
 * Reads an idx3 image file (gzipped or not). When `shape` ([rows, cols]) is given, the file's
 * image size must match it.
 */
export function readIdxImages(file: string, shape?: readonly [number, number]): IdxImages {
  const { dims, data } = parseIdx(readMaybeGzipped(file), 3, file);
  const [count = 0, rows = 0, cols = 0] = dims;
  if (rows === 0 || cols === 0) {
    throw new DatasetFileError(file, 8, 'images of at least 1 x 1 pixels', `${rows} x ${cols}`);
  }
  if (shape && (rows !== shape[0] || cols !== shape[1])) {
    throw new DatasetFileError(
      file,
      8,
      `images of ${shape[0]} x ${shape[1]} pixels`,
      `${rows} x ${cols}`,
    );
  }
  return { count, rows, cols, images: data };
}

/**
 * Reads an idx1 label file (gzipped or not); every label must lie in [0, `numLabels`).
 * The error for a label out of range names its byte offset (8 + its index).
 */
export function readIdxLabels(file: string, numLabels: number): Int32Array {
  const { data } = parseIdx(readMaybeGzipped(file), 1, file);
  const labels = new Int32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const label = data[i] ?? 0;
    if (label >= numLabels) {
      throw new DatasetFileError(
        file,
        8 + i,
        `a label in [0, ${numLabels - 1}]`,
        `${label} (example ${i})`,
      );
    }
    labels[i] = label;
  }
  return labels;
}

/**
 * Reads one split from an idx3 image file and its idx1 label file. The label count must equal
 * the image count; images are returned channels last with one channel ([count, rows, cols, 1]).
 *
 * @param shape  the expected [rows, cols] of every image, checked when given
 */
export function loadIdxSplit(
  imagesFile: string,
  labelsFile: string,
  numLabels: number,
  shape?: readonly [number, number],
): Split {
  const images = readIdxImages(imagesFile, shape);
  const labels = readIdxLabels(labelsFile, numLabels);
  if (labels.length !== images.count) {
    throw new DatasetFileError(
      labelsFile,
      4,
      `${images.count} labels (the image count of ${imagesFile})`,
      `${labels.length}`,
    );
  }
  return { images: images.images, labels, count: images.count };
}
