import type { Random } from './random.js';

/**
 * Training-time augmentation (METHOD.md, "Phase 1"): a random crop after zero-padding and a
 * random horizontal flip, on batches of channels-last images. Driven by the seeded `Random`, so a
 * run repeats exactly, and resumes exactly from a checkpointed `Random` state.
 */

/** The augmentation of a run: plain JSON, stored on the run once resolved. */
export interface Augmentation {
  /** Zero-padding before a random crop back to the original size, in pixels; 0 = no crop. */
  readonly cropPadding: number;
  /** Mirror each image left-right with probability 1/2. */
  readonly horizontalFlip: boolean;
}

export const NO_AUGMENTATION: Augmentation = { cropPadding: 0, horizontalFlip: false };

/** The CIFAR convention: 4-pixel padding at 32 x 32. */
export const DEFAULT_CROP_PADDING = 4;

/**
 * The default augmentation for images of `inputShape` ([height, width, channels]):
 * none for grey images (28 x 28 MNIST-style digits and clothes are not mirror-symmetric classes
 * and are centred), else crop + flip with padding 4 at 32 x 32 (CIFAR), scaled with the image
 * side for other sizes (side / 8, at least 1).
 */
export function augmentationDefault(inputShape: readonly [number, number, number]): Augmentation {
  const [height, width, channels] = inputShape;
  if (channels === 1) return NO_AUGMENTATION;
  const side = Math.min(height, width);
  const cropPadding = Math.max(1, Math.round((side * DEFAULT_CROP_PADDING) / 32));
  return { cropPadding, horizontalFlip: true };
}

/** Checks an augmentation against an input shape; throws naming the field and the value. */
export function validateAugmentation(
  augmentation: Augmentation,
  inputShape: readonly [number, number, number],
): void {
  const { cropPadding } = augmentation;
  const side = Math.min(inputShape[0], inputShape[1]);
  if (!Number.isInteger(cropPadding) || cropPadding < 0 || cropPadding >= side) {
    throw new RangeError(
      `augmentation.cropPadding must be an integer in [0, ${side - 1}] for [${inputShape.join(', ')}] images, got ${cropPadding}`,
    );
  }
}

/**
 * Augments `count` images of `inputShape` from `input` into `output` (same length, not
 * overlapping; bytes or floats, channels last). For each image in order, the draws from `random`
 * are: the crop's row offset and column offset, each uniform in [0, 2 * cropPadding] (only when
 * cropPadding > 0), then the flip (only when horizontalFlip). Pixels the crop takes from the
 * padding are 0 in the input's units: black for bytes, as in torchvision's pad-then-normalise
 * pipeline, so augment bytes before normalising to get the same result.
 *
 * @returns `output`
 */
export function augmentBatch<T extends Uint8Array | Float32Array>(
  input: T,
  output: T,
  count: number,
  inputShape: readonly [number, number, number],
  augmentation: Augmentation,
  random: Random,
): T {
  validateAugmentation(augmentation, inputShape);
  const [height, width, channels] = inputShape;
  const stride = height * width * channels;
  if (input.length !== count * stride || output.length !== input.length) {
    throw new RangeError(
      `augmentBatch: ${count} images of [${inputShape.join(', ')}] need ${count * stride} values, got input ${input.length} and output ${output.length}`,
    );
  }
  if (overlaps(input, output)) {
    throw new RangeError('augmentBatch: input and output must not share memory');
  }
  const pad = augmentation.cropPadding;
  for (let n = 0; n < count; n++) {
    const dy = pad > 0 ? random.int(2 * pad + 1) - pad : 0;
    const dx = pad > 0 ? random.int(2 * pad + 1) - pad : 0;
    const flip = augmentation.horizontalFlip && random.next() < 0.5;
    const base = n * stride;
    for (let y = 0; y < height; y++) {
      const sy = y + dy;
      const rowOut = base + y * width * channels;
      if (sy < 0 || sy >= height) {
        output.fill(0, rowOut, rowOut + width * channels);
        continue;
      }
      const rowIn = base + sy * width * channels;
      for (let x = 0; x < width; x++) {
        // Output column x shows cropped column (flip ? width - 1 - x : x).
        const sx = (flip ? width - 1 - x : x) + dx;
        const o = rowOut + x * channels;
        if (sx < 0 || sx >= width) {
          for (let c = 0; c < channels; c++) output[o + c] = 0;
        } else {
          const i = rowIn + sx * channels;
          for (let c = 0; c < channels; c++) output[o + c] = input[i + c] ?? 0;
        }
      }
    }
  }
  return output;
}

function overlaps(a: ArrayBufferView, b: ArrayBufferView): boolean {
  if (a.buffer !== b.buffer) return false;
  return a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}
