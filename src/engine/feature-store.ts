import { closeSync, mkdirSync, openSync, readdirSync, readSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where a probe keeps its frozen features between head epochs, so that the frozen network runs
 * once over the train and test examples whatever the number of epochs and replicates: in memory
 * when they fit its budget, else in a file under the home folder when they fit the disk budget
 * (float16 by default: half the bytes, and SR(l) within 0.001 of float32 on the reference
 * network; see bench/probe.ts), else nowhere (the frozen network runs again every epoch).
 *
 * A row is one example's features of every probed layer, concatenated; rows are written once,
 * in any order, and read back by index. No TensorFlow.js here.
 */

export type FeatureStoreKind = 'memory' | 'disk-float32' | 'disk-float16' | 'none';
export type SplitName = 'train' | 'test';

export interface FeatureStore {
  readonly kind: FeatureStoreKind;
  /** Stores example `index` of `split` (`row.length` = the row width). */
  write(split: SplitName, index: number, row: Float32Array): void;
  /** Reads example `index` of `split` into `out`. */
  read(split: SplitName, index: number, out: Float32Array): void;
  /** Frees the memory or deletes the files. Safe to call twice. */
  close(): void;
}

export interface FeatureBudgets {
  /** Bytes of memory (float32 rows). */
  readonly memoryBytes: number;
  /** Bytes of disk; 0 never spills. */
  readonly diskBytes: number;
  /** Folder of the spill files (created when needed). */
  readonly directory: string;
  /** Spill float16 rather than float32. */
  readonly float16: boolean;
}

/** The store for rows of `width` floats and these example counts, within the budgets. */
export function openFeatureStore(
  width: number,
  counts: Readonly<Record<SplitName, number>>,
  budgets: FeatureBudgets,
): FeatureStore {
  const rows = counts.train + counts.test;
  if (4 * width * rows <= budgets.memoryBytes) return new MemoryStore(width, counts);
  const bytesPerValue = budgets.float16 ? 2 : 4;
  if (budgets.diskBytes > 0 && bytesPerValue * width * rows <= budgets.diskBytes)
    return new DiskStore(width, budgets.directory, budgets.float16);
  return NONE;
}

const NONE: FeatureStore = {
  kind: 'none',
  write: () => undefined,
  read: () => {
    throw new Error('the feature store keeps nothing');
  },
  close: () => undefined,
};

class MemoryStore implements FeatureStore {
  readonly kind = 'memory';
  private data: Record<SplitName, Float32Array> | null;

  constructor(
    private readonly width: number,
    counts: Readonly<Record<SplitName, number>>,
  ) {
    this.data = {
      train: new Float32Array(counts.train * width),
      test: new Float32Array(counts.test * width),
    };
  }

  write(split: SplitName, index: number, row: Float32Array): void {
    this.data![split].set(row, index * this.width);
  }

  read(split: SplitName, index: number, out: Float32Array): void {
    const at = index * this.width;
    out.set(this.data![split].subarray(at, at + this.width));
  }

  close(): void {
    this.data = null;
  }
}

/** Spill files are named `<pid>-<random>-<split>.features`: `removeStaleSpills` can tell whose. */
const SPILL = /^(\d+)-[0-9a-z]+-(train|test)\.features$/;

class DiskStore implements FeatureStore {
  readonly kind;
  private readonly files: Record<SplitName, { fd: number; path: string }>;
  private readonly bytes: Uint8Array;
  private readonly halves: Uint16Array | null;
  private closed = false;

  constructor(
    private readonly width: number,
    directory: string,
    float16: boolean,
  ) {
    this.kind = float16 ? ('disk-float16' as const) : ('disk-float32' as const);
    mkdirSync(directory, { recursive: true });
    const stem = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
    const open = (split: SplitName) => {
      const path = join(directory, `${stem}-${split}.features`);
      return { fd: openSync(path, 'w+'), path };
    };
    this.files = { train: open('train'), test: open('test') };
    this.bytes = new Uint8Array(width * (float16 ? 2 : 4));
    this.halves = float16 ? new Uint16Array(this.bytes.buffer) : null;
  }

  private get rowBytes(): number {
    return this.bytes.byteLength;
  }

  write(split: SplitName, index: number, row: Float32Array): void {
    if (this.halves) for (let i = 0; i < this.width; i++) this.halves[i] = toHalf(row[i]!);
    else new Float32Array(this.bytes.buffer).set(row);
    writeSync(this.files[split].fd, this.bytes, 0, this.rowBytes, index * this.rowBytes);
  }

  read(split: SplitName, index: number, out: Float32Array): void {
    const n = readSync(this.files[split].fd, this.bytes, 0, this.rowBytes, index * this.rowBytes);
    if (n !== this.rowBytes)
      throw new Error(`feature file ${this.files[split].path}: row ${index} is short (${n} bytes)`);
    if (this.halves) {
      const table = halfTable();
      for (let i = 0; i < this.width; i++) out[i] = table[this.halves[i]!]!;
    } else out.set(new Float32Array(this.bytes.buffer, 0, this.width));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const file of Object.values(this.files)) {
      closeSync(file.fd);
      rmSync(file.path, { force: true });
    }
  }
}

/**
 * Deletes spill files left by processes that are gone (a crash or a kill): called when a server
 * or worker starts. Files of living processes (another runner on the same home) are kept.
 * Returns the number removed.
 */
export function removeStaleSpills(directory: string): number {
  let removed = 0;
  let names: string[];
  try {
    names = readdirSync(directory);
  } catch {
    return 0;
  }
  for (const name of names) {
    const match = SPILL.exec(name);
    if (!match) continue;
    const pid = Number(match[1]);
    if (pid === process.pid || alive(pid)) continue;
    rmSync(join(directory, name), { force: true });
    removed++;
  }
  return removed;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// IEEE 754 half precision, round to nearest even; ±Infinity beyond 65504, subnormals kept.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function toHalf(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    let half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
  return sign | half;
}

let halves: Float32Array | null = null;

/** Every half's float value, indexed by its bits (256 KiB): reading a row is one lookup a value. */
function halfTable(): Float32Array {
  if (!halves) {
    halves = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halves[h] = fromHalf(h);
  }
  return halves;
}

export function fromHalf(half: number): number {
  const sign = half & 0x8000 ? -1 : 1;
  const exponent = (half >>> 10) & 0x1f;
  const mantissa = half & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}
