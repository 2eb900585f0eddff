import { readFileSync } from 'node:fs';
import { DatasetFileError } from './idx.js';
import type { Split } from './types.js';

/**
 * Readers for the binary versions of CIFAR-10 and CIFAR-100. A record is its label byte(s)
 * followed by 3072 pixel bytes: three 32 x 32 planes (R, then G, then B), each row major. The
 * loaders return images channels last ([count, 32, 32, 3]), as the rest of filterscope expects.
 */

export type CifarVariant = 'cifar-10' | 'cifar-100';
/** Which CIFAR-100 label to keep: the 100 fine classes or the 20 coarse superclasses. */
export type CifarLabelKind = 'fine' | 'coarse';

export interface CifarOptions {
  readonly variant: CifarVariant;
  /** CIFAR-100 only; default `fine`. */
  readonly labels?: CifarLabelKind;
}

export const CIFAR_SIZE = 32;
const PLANE = CIFAR_SIZE * CIFAR_SIZE;
const PIXELS = PLANE * 3;

/** The 20 CIFAR-100 superclasses, in label order (coarse_label_names.txt). */
export const CIFAR100_COARSE_LABELS: readonly string[] = [
  'aquatic_mammals',
  'fish',
  'flowers',
  'food_containers',
  'fruit_and_vegetables',
  'household_electrical_devices',
  'household_furniture',
  'insects',
  'large_carnivores',
  'large_man-made_outdoor_things',
  'large_natural_outdoor_scenes',
  'large_omnivores_and_herbivores',
  'medium_mammals',
  'non-insect_invertebrates',
  'people',
  'reptiles',
  'small_mammals',
  'trees',
  'vehicles_1',
  'vehicles_2',
];

/** Bytes per record: 1 label + 3072 pixels (CIFAR-10) or coarse + fine + 3072 (CIFAR-100). */
export function cifarRecordSize(variant: CifarVariant): number {
  return (variant === 'cifar-10' ? 1 : 2) + PIXELS;
}

/** Number of classes of the labels returned for these options (10, 100 or 20). */
export function cifarLabelCount(options: CifarOptions): number {
  if (options.variant === 'cifar-10') return 10;
  return (options.labels ?? 'fine') === 'fine' ? 100 : 20;
}

/**
 * Decodes the content of one CIFAR binary file. `file` only names the source in errors: the
 * length must be a positive multiple of the record size, and every label byte (both of them for
 * CIFAR-100, whichever is kept) must be in range.
 */
export function parseCifar(content: Uint8Array, file: string, options: CifarOptions): Split {
  const record = cifarRecordSize(options.variant);
  if (content.length === 0) {
    throw new DatasetFileError(file, 0, `at least one ${record}-byte record`, 'an empty file');
  }
  if (content.length % record !== 0) {
    const start = content.length - (content.length % record);
    throw new DatasetFileError(
      file,
      start,
      `a complete ${record}-byte record (the file length must be a multiple of ${record})`,
      `a truncated record of ${content.length - start} bytes`,
    );
  }
  const count = content.length / record;
  const labelBytes = record - PIXELS;
  // CIFAR-10: [label]; CIFAR-100: [coarse, fine].
  const ranges = options.variant === 'cifar-10' ? [10] : [20, 100];
  const names = options.variant === 'cifar-10' ? ['label'] : ['coarse label', 'fine label'];
  const keep = options.variant === 'cifar-100' && (options.labels ?? 'fine') === 'fine' ? 1 : 0;
  const images = new Uint8Array(count * PIXELS);
  const labels = new Int32Array(count);
  for (let n = 0; n < count; n++) {
    const base = n * record;
    for (let b = 0; b < labelBytes; b++) {
      const value = content[base + b] ?? 0;
      const range = ranges[b] ?? 0;
      if (value >= range) {
        throw new DatasetFileError(
          file,
          base + b,
          `a ${names[b]} in [0, ${range - 1}]`,
          `${value} (record ${n})`,
        );
      }
    }
    labels[n] = content[base + keep] ?? 0;
    const src = base + labelBytes;
    const dst = n * PIXELS;
    for (let p = 0; p < PLANE; p++) {
      const o = dst + 3 * p;
      images[o] = content[src + p] ?? 0;
      images[o + 1] = content[src + PLANE + p] ?? 0;
      images[o + 2] = content[src + 2 * PLANE + p] ?? 0;
    }
  }
  return { images, labels, count };
}

/** Reads and decodes one CIFAR binary file (see {@link parseCifar}). */
export function readCifarFile(file: string, options: CifarOptions): Split {
  return parseCifar(readFileSync(file), file, options);
}

/**
 * Reads CIFAR binary files and concatenates them in the order given (e.g. data_batch_1..5 for
 * the CIFAR-10 training split). Images are [count, 32, 32, 3] bytes, channels last.
 */
export function loadCifarSplit(files: readonly string[], options: CifarOptions): Split {
  const parts = files.map((file) => readCifarFile(file, options));
  if (parts.length === 1 && parts[0]) return parts[0];
  const count = parts.reduce((sum, part) => sum + part.count, 0);
  const images = new Uint8Array(count * PIXELS);
  const labels = new Int32Array(count);
  let at = 0;
  for (const part of parts) {
    images.set(part.images, at * PIXELS);
    labels.set(part.labels, at);
    at += part.count;
  }
  return { images, labels, count };
}
