import { channelStats, normalizeInto } from '../../../src/data/normalize.js';
import { generateProcedural } from '../../../src/data/procedural.js';
import type { Split } from '../../../src/data/types.js';

/** Mean and population std per channel, straight from the definition. */
function reference(images: Uint8Array, channels: number): { mean: number[]; std: number[] } {
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < channels; c++) {
    const values: number[] = [];
    for (let i = c; i < images.length; i += channels) values.push((images[i] ?? 0) / 255);
    const m = values.reduce((a, b) => a + b, 0) / values.length;
    mean.push(m);
    std.push(Math.sqrt(values.reduce((a, b) => a + (b - m) ** 2, 0) / values.length));
  }
  return { mean, std };
}

describe('channelStats', () => {
  it('gives the mean and population std of each channel of pixels scaled to [0, 1]', () => {
    // Two 1 x 2 images with 3 channels: channel 0 is 0, 255, 0, 255; channel 1 constant 51.
    const split: Split = {
      images: Uint8Array.from([0, 51, 10, 255, 51, 20, 0, 51, 30, 255, 51, 40]),
      labels: Int32Array.from([0, 1]),
      count: 2,
    };
    const stats = channelStats(split, [1, 2, 3]);
    expect(stats.mean[0]).toBe(0.5);
    expect(stats.std[0]).toBe(0.5);
    expect(stats.mean[1]).toBeCloseTo(0.2, 15);
    expect(stats.std[1]).toBe(0);
    expect(stats.mean[2]).toBeCloseTo(25 / 255, 15);
    expect(stats.std[2]).toBeCloseTo(Math.sqrt(125) / 255, 15);
  });

  it('agrees with the definition on a real-sized split to 1e-12', () => {
    const { train, inputShape } = generateProcedural({ trainSize: 300, testSize: 0 });
    const stats = channelStats(train, inputShape);
    const ref = reference(train.images, 3);
    for (let c = 0; c < 3; c++) {
      expect(Math.abs((stats.mean[c] ?? 0) - (ref.mean[c] ?? 0))).toBeLessThan(1e-12);
      expect(Math.abs((stats.std[c] ?? 0) - (ref.std[c] ?? 0))).toBeLessThan(1e-12);
    }
  });

  it('rejects a split whose byte count does not match the shape', () => {
    const split: Split = { images: new Uint8Array(10), labels: new Int32Array(1), count: 1 };
    expect(() => channelStats(split, [2, 2, 3])).toThrow(
      'channelStats: 1 images of [2, 2, 3] need 12 bytes, got 10',
    );
  });
});

describe('normalizeInto', () => {
  it('writes (x / 255 - mean) / std per channel, channels last', () => {
    const images = Uint8Array.from([0, 255, 51, 102, 255, 0]);
    const stats = { mean: [0.2, 0.5], std: [0.1, 0.25] };
    const out = normalizeInto(images, stats, new Float32Array(6));
    const expected = [0, 1, 0.2, 0.4, 1, 0].map((x, i) =>
      i % 2 === 0 ? (x - 0.2) / 0.1 : (x - 0.5) / 0.25,
    );
    out.forEach((v, i) => expect(Math.abs(v - (expected[i] ?? NaN))).toBeLessThan(1e-5));
  });

  it('gives the training split mean 0 and std 1 in every channel', () => {
    const { train, inputShape } = generateProcedural({ trainSize: 200, testSize: 0 });
    const stats = channelStats(train, inputShape);
    const out = normalizeInto(train.images, stats, new Float32Array(train.images.length));
    for (let c = 0; c < 3; c++) {
      let s = 0;
      let q = 0;
      let n = 0;
      for (let i = c; i < out.length; i += 3) {
        s += out[i] ?? 0;
        q += (out[i] ?? 0) ** 2;
        n++;
      }
      expect(Math.abs(s / n)).toBeLessThan(1e-5);
      expect(Math.abs(Math.sqrt(q / n - (s / n) ** 2) - 1)).toBeLessThan(1e-5);
    }
  });

  it('divides a constant channel (std 0) by 1 instead of producing infinities', () => {
    const out = normalizeInto(
      Uint8Array.from([51, 51]),
      { mean: [0.2], std: [0] },
      new Float32Array(2),
    );
    expect(Array.from(out)).toEqual([0, 0]);
  });

  it('normalises one batch through subarrays', () => {
    const images = Uint8Array.from([0, 51, 102, 153, 204, 255]);
    const stats = { mean: [0.5], std: [0.5] };
    const out = new Float32Array(6);
    normalizeInto(images.subarray(2, 4), stats, out.subarray(2, 4));
    const expected = [0, 0, -0.2, 0.2, 0, 0];
    out.forEach((v, i) => expect(Math.abs(v - (expected[i] ?? NaN))).toBeLessThan(1e-6));
  });

  it('rejects mismatched lengths and stats', () => {
    const stats = { mean: [0.5, 0.5], std: [0.5, 0.5] };
    expect(() => normalizeInto(new Uint8Array(4), stats, new Float32Array(3))).toThrow(
      'normalizeInto: out has 3 values, expected 4 (one per byte)',
    );
    expect(() => normalizeInto(new Uint8Array(3), stats, new Float32Array(3))).toThrow(
      'normalizeInto: 3 bytes are not a whole number of 2-channel pixels',
    );
    expect(() =>
      normalizeInto(new Uint8Array(2), { mean: [0.5], std: [] }, new Float32Array(2)),
    ).toThrow('normalizeInto: stats need one mean and one std per channel, got 1 and 0');
  });
});
