import type { ArchitectureSpec } from '../architecture/index.js';
import type { NamedArray } from '../contract/tensors.js';
import type { ChannelStats } from '../data/types.js';

import type { ModelFormat } from '../contract/imports.js';

export type { ModelFormat };

/** What filterscope's own exports record besides the network, and imports read back. */
export interface NetworkMetadata {
  /** The input standardisation the network was trained with (pixels / 255, then per channel). */
  readonly normalization?: ChannelStats;
  /** The dataset's label names, classifier output i being label i. */
  readonly labelNames?: readonly string[];
}

/** A network read from a file. */
export interface ImportedNetwork {
  readonly format: ModelFormat;
  /** Inferred spec; `name` from the graph or 'imported' (the API renames it). */
  readonly spec: ArchitectureSpec;
  /**
   * Every variable under filterscope's names and shapes: exactly what
   * `readVariables(buildModel(spec))` lists (engine/model.ts), in that order, so that
   * `writeVariables` and `encodeCheckpoint` take it as is. Channels-last (kernels HWIO, first
   * dense rows in H*W*C order).
   */
  readonly weights: readonly NamedArray[];
  /** What our own exports record; absent in foreign files (and ignored when malformed). */
  readonly metadata: NetworkMetadata;
  /**
   * What the import changed without changing the logits, for the user to see: a final Softmax
   * dropped, an epsilon folded into the running variance, a ReLU moved before a max-pooling...
   */
  readonly notes: readonly string[];
}

/** The metadata keys of our exports (ONNX metadata_props, model.json userDefinedMetadata). */
export const METADATA_KEYS = {
  normalization: 'filterscope.normalization',
  labelNames: 'filterscope.labelNames',
} as const;

/**
 * Metadata read back from a file, kept only when well formed and matching the network (one mean
 * and std per input channel, one name per label); otherwise a note says why it was dropped.
 */
export function checkMetadata(
  raw: { normalization?: unknown; labelNames?: unknown },
  spec: ArchitectureSpec,
  notes: string[],
): NetworkMetadata {
  const out: { normalization?: ChannelStats; labelNames?: readonly string[] } = {};
  const numbers = (v: unknown, n: number): v is number[] =>
    Array.isArray(v) && v.length === n && v.every((x) => typeof x === 'number' && isFinite(x));
  const channels = spec.inputShape[2];
  if (raw.normalization !== undefined) {
    const n = raw.normalization as { mean?: unknown; std?: unknown } | null;
    if (n && numbers(n.mean, channels) && numbers(n.std, channels)) {
      out.normalization = { mean: n.mean as number[], std: n.std as number[] };
    } else {
      notes.push(`${METADATA_KEYS.normalization} ignored: not ${channels} means and stds`);
    }
  }
  if (raw.labelNames !== undefined) {
    const names = raw.labelNames;
    if (
      Array.isArray(names) &&
      names.length === spec.labels &&
      names.every((s) => typeof s === 'string')
    ) {
      out.labelNames = names as string[];
    } else {
      notes.push(`${METADATA_KEYS.labelNames} ignored: not ${spec.labels} strings`);
    }
  }
  return out;
}
