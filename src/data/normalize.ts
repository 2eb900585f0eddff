import type { ChannelStats, Split } from './types.js';

/**
 * Per-channel standardisation (METHOD.md, "Phase 1"): pixels are scaled to [0, 1], then each
 * channel has the training split's mean subtracted and is divided by its standard deviation.
 */

/**
 * Mean and standard deviation of each channel of a split's pixels scaled to [0, 1] (x / 255),
 * over every image and position. The sums are over the integer bytes, so they are exact; the
 * standard deviation is the population one (divided by N, not N - 1).
 *
 * @param split       images as bytes, [count, height, width, channels], channels last
 * @param inputShape  [height, width, channels]
 */
export function channelStats(
  split: Split,
  inputShape: readonly [number, number, number],
): ChannelStats {
  const [height, width, channels] = inputShape;
  const expected = split.count * height * width * channels;
  if (split.images.length !== expected) {
    throw new RangeError(
      `channelStats: ${split.count} images of [${inputShape.join(', ')}] need ${expected} bytes, got ${split.images.length}`,
    );
  }
  const pixels = split.count * height * width;
  if (pixels === 0) throw new RangeError('channelStats: the split has no pixels');
  const sum = new Float64Array(channels);
  const squares = new Float64Array(channels);
  const images = split.images;
  // The sums are of integers: exact in float64 while below 2^53, i.e. for up to 1.3e11 pixels.
  for (let c = 0; c < channels; c++) {
    let s = 0;
    let q = 0;
    for (let i = c; i < images.length; i += channels) {
      const v = images[i] ?? 0;
      s += v;
      q += v * v;
    }
    sum[c] = s;
    squares[c] = q;
  }
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < channels; c++) {
    const m = (sum[c] ?? 0) / pixels;
    const variance = Math.max(0, (squares[c] ?? 0) / pixels - m * m);
    mean.push(m / 255);
    std.push(Math.sqrt(variance) / 255);
  }
  return { mean, std };
}

/**
 * Writes (x / 255 - mean[c]) / std[c] for every byte x of `images` (channels last, the channel
 * count being `stats.mean.length`) into `out`, which must have the same length; returns `out`.
 * A channel whose std is 0 (constant in the training split) is divided by 1 instead.
 * Pass subarrays to normalise one batch of a larger split.
 */
export function normalizeInto(
  images: Uint8Array,
  stats: ChannelStats,
  out: Float32Array,
): Float32Array {
  const channels = stats.mean.length;
  if (channels === 0 || stats.std.length !== channels) {
    throw new RangeError(
      `normalizeInto: stats need one mean and one std per channel, got ${stats.mean.length} and ${stats.std.length}`,
    );
  }
  if (out.length !== images.length) {
    throw new RangeError(
      `normalizeInto: out has ${out.length} values, expected ${images.length} (one per byte)`,
    );
  }
  if (images.length % channels !== 0) {
    throw new RangeError(
      `normalizeInto: ${images.length} bytes are not a whole number of ${channels}-channel pixels`,
    );
  }
  // (x / 255 - mean) / std = x * scale + shift, precomputed per channel.
  const scale = new Float64Array(channels);
  const shift = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    const s = stats.std[c] ?? 0;
    const inv = s > 0 ? 1 / s : 1;
    scale[c] = inv / 255;
    shift[c] = -(stats.mean[c] ?? 0) * inv;
  }
  for (let c = 0; c < channels; c++) {
    const a = scale[c] ?? 0;
    const b = shift[c] ?? 0;
    for (let i = c; i < images.length; i += channels) out[i] = (images[i] ?? 0) * a + b;
  }
  return out;
}
