import type { ArchitectureSpec } from '../architecture/index.js';
import { summarize } from '../architecture/index.js';
import { arrayOf, integer, object, string, type Check } from './checks.js';

/**
 * Where phase 2 reads a probed layer (docs/METHOD.md, "Probe point"), resolved from the spec
 * alone: the conv layer's output after batch norm and activation, then after the pooling blocks
 * that immediately follow it (when `afterPooling`), then 2x2 max-pooled (stride 2, odd sides
 * floored) until the flattened size fits `maxFeatures`.
 */

/** METHOD.md's default `maxFeatures`: flattened probe points larger than this are pooled. */
export const DEFAULT_MAX_FEATURES = 32768;

/** One probed layer's probe point. Plain JSON. */
export interface ProbePoint {
  /** The probed conv layer, e.g. `conv3`. */
  readonly layer: string;
  /**
   * The summarized layer whose output the probe point starts from: `layer` itself (read after
   * its batch norm and activation) or the last pooling layer right after it, e.g. `maxPool2`.
   */
  readonly source: string;
  /** Pooling layers of the architecture included after the conv layer, in order. */
  readonly poolings: readonly string[];
  /** Extra 2x2 max-poolings (stride 2) applied after `source` to fit `maxFeatures`. */
  readonly extraPoolings: number;
  /** [h, w, F] after all poolings. */
  readonly shape: readonly [number, number, number];
  /** P = h * w. */
  readonly positions: number;
  /** F, the conv layer's filters. */
  readonly filters: number;
  /** P * F: the head's input size (flat index p * F + k, channels-last). */
  readonly features: number;
}

/**
 * Resolves the probe points of `layers` (default: every conv layer, in network order).
 *
 * @param spec a valid architecture
 * @param layers conv layer names (`conv1`, ...); throws on a name that is not a conv layer, or a
 *   repeated name
 * @param afterPooling include the pooling blocks right after each conv layer (default true)
 * @param maxFeatures largest flattened probe point, default 32768; extra pooling stops when a
 *   side would drop below 1, so a probe point with h or w at 1 may still exceed it
 */
export function resolveProbePoints(
  spec: ArchitectureSpec,
  layers?: readonly string[],
  afterPooling = true,
  maxFeatures = DEFAULT_MAX_FEATURES,
): ProbePoint[] {
  if (!Number.isInteger(maxFeatures) || maxFeatures < 1) {
    throw new RangeError(`maxFeatures must be a positive integer, got ${maxFeatures}`);
  }
  const summary = summarize(spec).layers;
  const convNames = summary.filter((l) => l.kind === 'conv').map((l) => l.name);
  const names = layers ?? convNames;
  if (names.length === 0) throw new RangeError('layers must name at least one conv layer');
  const seen = new Set<string>();
  return names.map((name) => {
    const index = summary.findIndex((l) => l.name === name);
    const info = summary[index];
    if (!info || info.kind !== 'conv') {
      throw new RangeError(
        `layers: ${JSON.stringify(name)} is not a conv layer of ${spec.name} (conv layers: ${convNames.join(', ')})`,
      );
    }
    if (seen.has(name)) throw new RangeError(`layers: ${name} is listed twice`);
    seen.add(name);
    let last = info;
    const poolings: string[] = [];
    for (let i = index + 1; afterPooling && i < summary.length; i++) {
      const next = summary[i];
      if (!next || (next.kind !== 'maxPool' && next.kind !== 'avgPool')) break;
      poolings.push(next.name);
      last = next;
    }
    const [height = 0, width = 0, filters = 0] = last.outputShape;
    let [h, w] = [height, width];
    let extraPoolings = 0;
    while (h * w * filters > maxFeatures && h >= 2 && w >= 2) {
      h = Math.floor(h / 2);
      w = Math.floor(w / 2);
      extraPoolings++;
    }
    return {
      layer: name,
      source: last.name,
      poolings,
      extraPoolings,
      shape: [h, w, filters] as const,
      positions: h * w,
      filters,
      features: h * w * filters,
    };
  });
}

/** Checks a probe point carried in a message or read from a stored plan. */
export const checkProbePoint: Check = object({
  layer: string,
  source: string,
  poolings: arrayOf(string),
  extraPoolings: integer(0),
  shape: arrayOf(integer(1)),
  positions: integer(1),
  filters: integer(1),
  features: integer(1),
});
