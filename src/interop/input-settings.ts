import type { ChannelStats } from '../data/types.js';
import type { NamedArray } from '../contract/tensors.js';
import type { InputSettings } from '../contract/imports.js';
import type { ImportedNetwork } from './types.js';

export type { InputSettings };

/**
 * filterscope feeds a network `(x / 255 - mean[c]) / std[c]` for each byte x of dataset channel
 * c (data/normalize.ts), channels in the dataset's (RGB) order. This turns a network's own input
 * settings into that form:
 *
 *     unit:       p = x / 255            -> mean' = mean,             std' = std
 *     byte:       p = x                  -> mean' = mean / 255,       std' = std / 255
 *     symmetric:  p = 2 x / 255 - 1      -> mean' = (1 + mean) / 2,   std' = std / 2
 *
 * and, for a BGR network, lists the statistics in dataset order and reverses the input channels
 * of the first weight layer (the first conv's kernel, or the first dense layer's rows), so that
 * the network sees what it was trained on. Other weights are returned as they are.
 *
 * Throws a RangeError when the settings do not have one mean and one positive std per input
 * channel, or when `bgr` is asked of a network without 1 or 3 input channels.
 */
export function applyInputSettings(
  network: ImportedNetwork,
  settings: InputSettings,
): { weights: readonly NamedArray[]; normalization: ChannelStats } {
  const channels = network.spec.inputShape[2];
  const { mean, std } = settings;
  if (mean.length !== channels || std.length !== channels) {
    throw new RangeError(
      `input settings need ${channels} means and stds (one per input channel), got ${mean.length} and ${std.length}`,
    );
  }
  const bad = std.findIndex((s) => !(s > 0) || !Number.isFinite(s));
  if (bad >= 0 || mean.some((m) => !Number.isFinite(m))) {
    throw new RangeError(
      `input settings need finite means and stds above 0, got std[${bad}] = ${std[bad]}`,
    );
  }
  const convert = {
    unit: (m: number, s: number) => [m, s],
    byte: (m: number, s: number) => [m / 255, s / 255],
    symmetric: (m: number, s: number) => [(1 + m) / 2, s / 2],
  }[settings.pixelScale];
  const reversed = settings.channelOrder === 'bgr' && channels > 1;
  if (reversed && channels !== 3) {
    throw new RangeError(`channelOrder 'bgr' needs a 3-channel input, the network has ${channels}`);
  }
  // Dataset channel c is network channel (reversed ? 2 - c : c).
  const at = (c: number): number => (reversed ? channels - 1 - c : c);
  const stats = Array.from({ length: channels }, (_, c) => convert(mean[at(c)]!, std[at(c)]!));
  const normalization: ChannelStats = {
    mean: stats.map(([m]) => m as number),
    std: stats.map(([, s]) => s as number),
  };
  if (!reversed) return { weights: network.weights, normalization };
  const first = network.weights.find((w) => w.name.endsWith('/kernel'));
  const weights = network.weights.map((w) =>
    w === first ? { ...w, values: reverseInputChannels(w, channels) } : w,
  );
  return { weights, normalization };
}

/**
 * Reverses the input-channel order of the first weight layer: a conv kernel [k, k, C, F] along
 * C, or a dense kernel [h * w * C, units] (the image flattened channels-last) within each pixel.
 */
function reverseInputChannels(kernel: NamedArray, channels: number): Float32Array {
  const conv = kernel.shape.length === 4;
  // Rows of `block` values each; a pixel's C rows are reversed.
  const block = conv ? (kernel.shape[3] as number) : (kernel.shape[1] as number);
  const out = new Float32Array(kernel.values.length);
  const pixels = kernel.values.length / (block * channels);
  for (let p = 0; p < pixels; p++)
    for (let c = 0; c < channels; c++) {
      const from = (p * channels + c) * block;
      const to = (p * channels + (channels - 1 - c)) * block;
      out.set(kernel.values.subarray(from, from + block), to);
    }
  return out;
}

/**
 * Reorders (and, for a network with more outputs than the dataset has labels, selects) the
 * classifier's outputs: dataset label i is scored by network output `mapping[i]`. Returns the
 * spec with `labels = mapping.length` and the weights with `classifier/kernel` columns and
 * `classifier/bias` entries picked; other weights as they are. Throws a RangeError on an output
 * the network does not have, an output named twice, or fewer than 2 labels.
 */
export function applyLabelMapping(
  network: Pick<ImportedNetwork, 'spec' | 'weights'>,
  mapping: readonly number[],
): { spec: ImportedNetwork['spec']; weights: readonly NamedArray[] } {
  const outputs = network.spec.labels;
  if (mapping.length < 2)
    throw new RangeError(`a label mapping needs at least 2 labels, got ${mapping.length}`);
  mapping.forEach((o, i) => {
    if (!Number.isInteger(o) || o < 0 || o >= outputs) {
      throw new RangeError(
        `labelMapping[${i}] = ${o}: the network has outputs 0 to ${outputs - 1}`,
      );
    }
    if (mapping.indexOf(o) !== i) throw new RangeError(`labelMapping[${i}] = ${o} is mapped twice`);
  });
  const weights = network.weights.map((w) => {
    if (w.name === 'classifier/bias') {
      return {
        ...w,
        shape: [mapping.length],
        values: Float32Array.from(mapping, (o) => w.values[o]!),
      };
    }
    if (w.name !== 'classifier/kernel') return w;
    const rows = w.shape[0] ?? 0;
    const values = new Float32Array(rows * mapping.length);
    for (let r = 0; r < rows; r++)
      mapping.forEach((o, j) => (values[r * mapping.length + j] = w.values[r * outputs + o]!));
    return { ...w, shape: [rows, mapping.length], values };
  });
  return { spec: { ...network.spec, labels: mapping.length }, weights };
}
