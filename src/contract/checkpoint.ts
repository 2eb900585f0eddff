import type { ArchitectureSpec } from '../architecture/index.js';
import type { ChannelStats } from '../data/types.js';
import type { TrainHyperparameters } from './hyperparameters.js';
import type { DatasetRequest, EpochMetrics } from './protocol.js';
import type { NamedArray } from './tensors.js';

/**
 * Phase-1 checkpoints as one Uint8Array, so a checkpoint is a single transferable buffer and a
 * single database value:
 *
 *     bytes 0-3    "FSCP"
 *     bytes 4-7    format version, uint32 little-endian (1)
 *     bytes 8-11   header length H in bytes, uint32 little-endian
 *     12 .. 12+H   header, UTF-8 JSON (see `Header`)
 *     zero padding to a multiple of 4 bytes
 *     float32 little-endian values of every tensor, in header order, nothing after them
 *
 * The header lists each tensor's group, name and shape (offsets follow from the shapes) and a
 * CRC-32 of the value bytes, so truncation and corruption are caught on read.
 */

const MAGIC = 'FSCP';
const VERSION = 1;
const PREFIX = 12;

/** What a run needs besides tensors to resume exactly, and what probing needs to reuse it. */
export interface CheckpointMeta {
  readonly architecture: ArchitectureSpec;
  readonly dataset: DatasetRequest;
  /** Null for a network imported from a file: it was trained elsewhere, with what we do not know. */
  readonly hyperparameters: TrainHyperparameters | null;
  /** Per-channel mean and std (pixels in [0, 1]) the inputs were standardised with. */
  readonly normalization: ChannelStats;
  /** Metrics of every epoch completed so far, in order. */
  readonly history: readonly EpochMetrics[];
}

export interface TrainCheckpoint {
  /** Epochs completed (>= 1); a resumed run continues with 0-based epoch index `epoch`. */
  readonly epoch: number;
  /** State of the shuffle / augmentation / dropout generator (src/data/random.ts). */
  readonly rngState: number;
  readonly meta: CheckpointMeta;
  /** Every model variable by name (`conv1/kernel`, `conv1_bn/moving_mean`, ...). */
  readonly weights: readonly NamedArray[];
  /** SGD momentum buffer of every trainable variable, by the same names. */
  readonly momentum: readonly NamedArray[];
}

type Group = 'weights' | 'momentum';

interface Header {
  readonly epoch: number;
  readonly rngState: number;
  readonly meta: CheckpointMeta;
  readonly tensors: readonly { group: Group; name: string; shape: number[] }[];
  /** CRC-32 (IEEE) of the value bytes. */
  readonly crc32: number;
}

/** A checkpoint that cannot be read: says what was expected and what was found. */
export class CheckpointError extends Error {
  constructor(message: string) {
    super(`invalid checkpoint: ${message}`);
    this.name = 'CheckpointError';
  }
}

if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) {
  // Values are copied through Float32Array views, which use the platform's byte order.
  throw new Error('checkpoint.ts assumes a little-endian platform');
}

/** Serialises a checkpoint; values are copied, the input is not kept. */
export function encodeCheckpoint(checkpoint: TrainCheckpoint): Uint8Array {
  const tensors = [
    ...checkpoint.weights.map((t) => ({ group: 'weights' as const, t })),
    ...checkpoint.momentum.map((t) => ({ group: 'momentum' as const, t })),
  ];
  let floats = 0;
  for (const { group, t } of tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (size !== t.values.length) {
      throw new Error(
        `${group} tensor ${t.name}: shape [${t.shape.join(', ')}] needs ${size} values, got ${t.values.length}`,
      );
    }
    floats += size;
  }
  const values = new Float32Array(floats);
  let at = 0;
  for (const { t } of tensors) {
    values.set(t.values, at);
    at += t.values.length;
  }
  const valueBytes = new Uint8Array(values.buffer);
  const header: Header = {
    epoch: checkpoint.epoch,
    rngState: checkpoint.rngState,
    meta: checkpoint.meta,
    tensors: tensors.map(({ group, t }) => ({ group, name: t.name, shape: [...t.shape] })),
    crc32: crc32(valueBytes),
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const dataStart = align4(PREFIX + json.length);
  const out = new Uint8Array(dataStart + valueBytes.length);
  out.set(new TextEncoder().encode(MAGIC), 0);
  const view = new DataView(out.buffer);
  view.setUint32(4, VERSION, true);
  view.setUint32(8, json.length, true);
  out.set(json, PREFIX);
  out.set(valueBytes, dataStart);
  return out;
}

/**
 * Reads and validates a checkpoint written by `encodeCheckpoint`. Throws `CheckpointError` on a
 * wrong magic or version, a malformed header, a size that does not match the listed shapes, or
 * a CRC mismatch. The returned arrays are fresh copies.
 */
export function decodeCheckpoint(bytes: Uint8Array): TrainCheckpoint {
  if (!(bytes instanceof Uint8Array)) {
    throw new CheckpointError(`expected a Uint8Array, got ${typeof bytes}`);
  }
  if (bytes.length < PREFIX) {
    throw new CheckpointError(`expected at least ${PREFIX} bytes, got ${bytes.length}`);
  }
  const magic = new TextDecoder().decode(bytes.subarray(0, 4));
  if (magic !== MAGIC) {
    throw new CheckpointError(`expected magic ${MAGIC}, got ${JSON.stringify(magic)}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(4, true);
  if (version !== VERSION) throw new CheckpointError(`expected version ${VERSION}, got ${version}`);
  const headerLength = view.getUint32(8, true);
  if (PREFIX + headerLength > bytes.length) {
    throw new CheckpointError(
      `header of ${headerLength} bytes runs past the end of the ${bytes.length}-byte checkpoint`,
    );
  }
  let header: unknown;
  try {
    header = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(
        bytes.subarray(PREFIX, PREFIX + headerLength),
      ),
    );
  } catch (error) {
    throw new CheckpointError(`header is not UTF-8 JSON (${(error as Error).message})`);
  }
  const h = checkHeader(header);
  const dataStart = align4(PREFIX + headerLength);
  const floats = h.tensors.reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1), 0);
  const expected = dataStart + 4 * floats;
  if (bytes.length !== expected) {
    throw new CheckpointError(
      `the header's tensors need ${expected} bytes in all, got ${bytes.length}`,
    );
  }
  // A copy starts at offset 0 of its own buffer, so a Float32Array view is always aligned.
  const valueBytes = bytes.slice(dataStart);
  const crc = crc32(valueBytes);
  if (crc !== h.crc32) {
    throw new CheckpointError(`CRC-32 of the values is ${crc}, the header says ${h.crc32}`);
  }
  const values = new Float32Array(valueBytes.buffer);
  const weights: NamedArray[] = [];
  const momentum: NamedArray[] = [];
  let at = 0;
  for (const t of h.tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    const entry = { name: t.name, shape: t.shape, values: values.subarray(at, at + size) };
    (t.group === 'weights' ? weights : momentum).push(entry);
    at += size;
  }
  return { epoch: h.epoch, rngState: h.rngState, meta: h.meta, weights, momentum };
}

function checkHeader(value: unknown): Header {
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  const bad = (field: string, what: string, got: unknown): never => {
    throw new CheckpointError(`header.${field}: expected ${what}, got ${JSON.stringify(got)}`);
  };
  if (!isObject(value)) return bad('', 'an object', value);
  const { epoch, rngState, meta, tensors, crc32: crc } = value;
  // Epoch 0: an imported network (no epochs of ours, no optimizer state).
  if (typeof epoch !== 'number' || !Number.isInteger(epoch) || epoch < 0) {
    bad('epoch', 'an integer >= 0', epoch);
  }
  const isUint32 = (v: unknown): boolean =>
    typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
  if (!isUint32(rngState)) bad('rngState', 'a uint32', rngState);
  if (!isUint32(crc)) bad('crc32', 'a uint32', crc);
  if (!isObject(meta)) return bad('meta', 'an object', meta);
  for (const key of ['architecture', 'dataset', 'normalization']) {
    if (!isObject(meta[key])) bad(`meta.${key}`, 'an object', meta[key]);
  }
  if (meta.hyperparameters !== null && !isObject(meta.hyperparameters))
    bad('meta.hyperparameters', 'an object or null', meta.hyperparameters);
  if (!Array.isArray(meta.history) || meta.history.length !== epoch) {
    bad('meta.history', `a list of ${String(epoch)} epoch records`, meta.history);
  }
  if (!Array.isArray(tensors)) return bad('tensors', 'a list', tensors);
  const seen = new Set<string>();
  tensors.forEach((t: unknown, i) => {
    if (!isObject(t)) return bad(`tensors[${i}]`, 'an object', t);
    if (t.group !== 'weights' && t.group !== 'momentum') {
      bad(`tensors[${i}].group`, "'weights' or 'momentum'", t.group);
    }
    if (typeof t.name !== 'string' || t.name.length === 0) {
      bad(`tensors[${i}].name`, 'a non-empty string', t.name);
    }
    const key = `${String(t.group)}:${String(t.name)}`;
    if (seen.has(key)) bad(`tensors[${i}].name`, 'a name unique within its group', t.name);
    seen.add(key);
    const shape = t.shape;
    if (
      !Array.isArray(shape) ||
      !shape.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 1)
    ) {
      bad(`tensors[${i}].shape`, 'a list of positive integers', shape);
    }
  });
  return value as unknown as Header;
}

const align4 = (n: number): number => (n + 3) & ~3;

let crcTable: Uint32Array | null = null;

/** CRC-32 (IEEE 802.3, as zlib), table-driven. */
export function crc32(data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  const table = crcTable;
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) {
    crc = (table[(crc ^ (data[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** A checkpoint only resumes the job that wrote it: same architecture, data and hyperparameters. */
export function checkResumable(
  saved: CheckpointMeta,
  current: Omit<CheckpointMeta, 'history'>,
): void {
  if (saved.hyperparameters === null)
    throw new Error('cannot resume: the checkpoint holds an imported network, not a training run');
  // Checkpoints written before `maxTestExamples` existed meant "all" by leaving it out.
  const upgraded = {
    ...saved,
    hyperparameters: {
      ...saved.hyperparameters,
      maxTestExamples: saved.hyperparameters.maxTestExamples ?? null,
    },
  };
  for (const key of ['architecture', 'dataset', 'hyperparameters'] as const) {
    const a = canonicalJson(upgraded[key]);
    const b = canonicalJson(current[key]);
    if (a !== b) {
      throw new Error(
        `cannot resume: the checkpoint's ${key} differ from the job's (checkpoint ${truncate(a)}, job ${truncate(b)})`,
      );
    }
  }
}

function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

const truncate = (text: string): string => (text.length > 200 ? `${text.slice(0, 197)}...` : text);
