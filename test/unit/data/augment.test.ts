import type { Augmentation } from '../../../src/data/augment.js';
import { NO_AUGMENTATION, augmentBatch, augmentationDefault } from '../../../src/data/augment.js';
import { Random } from '../../../src/data/random.js';

/**
 * The augmentation as the documentation states it, written the slow, obvious way: pad with
 * zeros, cut the window at (oy, ox), then mirror. Draws per image: oy, ox, then the flip.
 */
function reference<T extends Uint8Array | Float32Array>(
  input: T,
  count: number,
  [h, w, c]: readonly [number, number, number],
  { cropPadding: p, horizontalFlip }: Augmentation,
  random: Random,
  make: (n: number) => T,
): T {
  const out = make(input.length);
  for (let n = 0; n < count; n++) {
    const oy = p > 0 ? random.int(2 * p + 1) : 0;
    const ox = p > 0 ? random.int(2 * p + 1) : 0;
    const flip = horizontalFlip && random.next() < 0.5;
    const padded: number[][][] = [];
    for (let y = 0; y < h + 2 * p; y++) {
      const row: number[][] = [];
      for (let x = 0; x < w + 2 * p; x++) {
        const inside = y >= p && y < h + p && x >= p && x < w + p;
        const at = ((n * h + y - p) * w + x - p) * c;
        row.push(Array.from({ length: c }, (_, k) => (inside ? (input[at + k] ?? 0) : 0)));
      }
      padded.push(row);
    }
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const cropped = padded[y + oy]?.[(flip ? w - 1 - x : x) + ox] ?? [];
        for (let k = 0; k < c; k++) out[((n * h + y) * w + x) * c + k] = cropped[k] ?? NaN;
      }
    }
  }
  return out;
}

const shape = [6, 5, 3] as const;
const count = 40;
const bytes = Uint8Array.from({ length: count * 90 }, (_, i) => 1 + (i % 251));
const floats = Float32Array.from(bytes, (v) => v / 7 - 3);

describe('augmentationDefault', () => {
  it('crops with 4-pixel padding and flips CIFAR-style 32 x 32 x 3 images', () => {
    expect(augmentationDefault([32, 32, 3])).toEqual({ cropPadding: 4, horizontalFlip: true });
  });

  it('leaves 28 x 28 grey images alone', () => {
    expect(augmentationDefault([28, 28, 1])).toEqual(NO_AUGMENTATION);
  });

  it('scales the padding with the side of other colour images', () => {
    expect(augmentationDefault([16, 16, 3])).toEqual({ cropPadding: 2, horizontalFlip: true });
    expect(augmentationDefault([64, 64, 3]).cropPadding).toBe(8);
    expect(augmentationDefault([8, 8, 3]).cropPadding).toBe(1);
  });
});

describe('augmentBatch', () => {
  it.each([
    ['crop and flip', { cropPadding: 2, horizontalFlip: true }],
    ['crop only', { cropPadding: 3, horizontalFlip: false }],
    ['flip only', { cropPadding: 0, horizontalFlip: true }],
  ] as const)('matches pad-crop-mirror done by hand (%s), on bytes and floats', (_, aug) => {
    const got = augmentBatch(bytes, new Uint8Array(bytes.length), count, shape, aug, new Random(5));
    const want = reference(bytes, count, shape, aug, new Random(5), (n) => new Uint8Array(n));
    expect(got).toEqual(want);
    const gotF = augmentBatch(
      floats,
      new Float32Array(floats.length),
      count,
      shape,
      aug,
      new Random(5),
    );
    const wantF = reference(floats, count, shape, aug, new Random(5), (n) => new Float32Array(n));
    expect(gotF).toEqual(wantF);
  });

  it('copies the batch unchanged and draws nothing when there is no augmentation', () => {
    const random = new Random(9);
    const out = augmentBatch(
      bytes,
      new Uint8Array(bytes.length),
      count,
      shape,
      NO_AUGMENTATION,
      random,
    );
    expect(out).toEqual(bytes);
    expect(random.getState()).toBe(new Random(9).getState());
  });

  it('repeats by seed, and resumes from a checkpointed Random state', () => {
    const aug = { cropPadding: 2, horizontalFlip: true };
    const half = (count / 2) * 90;
    const whole = augmentBatch(
      bytes,
      new Uint8Array(bytes.length),
      count,
      shape,
      aug,
      new Random(1),
    );
    const random = new Random(1);
    const first = augmentBatch(
      bytes.subarray(0, half),
      new Uint8Array(half),
      count / 2,
      shape,
      aug,
      random,
    );
    const resumed = Random.fromState(random.getState());
    const second = augmentBatch(
      bytes.subarray(half),
      new Uint8Array(half),
      count / 2,
      shape,
      aug,
      resumed,
    );
    expect(first).toEqual(whole.subarray(0, half));
    expect(second).toEqual(whole.subarray(half));
    const other = augmentBatch(
      bytes,
      new Uint8Array(bytes.length),
      count,
      shape,
      aug,
      new Random(2),
    );
    expect(other).not.toEqual(whole);
  });

  it('shifts by every offset in [-pad, pad] and flips about half the images', () => {
    // One bright pixel at (2, 2) of a 5 x 5 grey image: where it lands tells the shift.
    const n = 400;
    const one = new Uint8Array(25);
    one[12] = 255;
    const input = new Uint8Array(n * 25);
    for (let i = 0; i < n; i++) input.set(one, i * 25);
    const out = augmentBatch(
      input,
      new Uint8Array(input.length),
      n,
      [5, 5, 1],
      { cropPadding: 2, horizontalFlip: false },
      new Random(3),
    );
    const shifts = new Set<string>();
    for (let i = 0; i < n; i++) {
      const at = out.subarray(i * 25, (i + 1) * 25).indexOf(255);
      shifts.add(`${Math.floor(at / 5) - 2},${(at % 5) - 2}`);
    }
    expect(shifts.size).toBe(25);
    // Flips: an asymmetric row tells them apart.
    const row = Uint8Array.from([1, 2, 3]);
    const rows = new Uint8Array(n * 3);
    for (let i = 0; i < n; i++) rows.set(row, i * 3);
    const flipped = augmentBatch(
      rows,
      new Uint8Array(rows.length),
      n,
      [1, 3, 1],
      { cropPadding: 0, horizontalFlip: true },
      new Random(4),
    );
    let mirrored = 0;
    for (let i = 0; i < n; i++) if (flipped[i * 3] === 3) mirrored++;
    expect(mirrored).toBeGreaterThan(n * 0.4);
    expect(mirrored).toBeLessThan(n * 0.6);
  });

  it('rejects wrong lengths, shared memory and a padding as large as the image', () => {
    const aug = { cropPadding: 1, horizontalFlip: true };
    const random = new Random(1);
    expect(() => augmentBatch(bytes, new Uint8Array(10), count, shape, aug, random)).toThrow(
      'augmentBatch: 40 images of [6, 5, 3] need 3600 values, got input 3600 and output 10',
    );
    const buffer = new Uint8Array(2 * 90 + 30);
    expect(() =>
      augmentBatch(buffer.subarray(0, 90), buffer.subarray(60, 150), 1, shape, aug, random),
    ).toThrow('augmentBatch: input and output must not share memory');
    expect(() =>
      augmentBatch(
        bytes,
        new Uint8Array(bytes.length),
        count,
        shape,
        { ...aug, cropPadding: 5 },
        random,
      ),
    ).toThrow('augmentation.cropPadding must be an integer in [0, 4] for [6, 5, 3] images, got 5');
  });
});
