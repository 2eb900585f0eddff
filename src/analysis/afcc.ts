/**
 * AFCC, applying the filter's cluster connections (docs/METHOD.md, "AFCC"): each filter keeps
 * only its head weights to the labels of its own clusters.
 */
import type { HeadShape } from './correlation.js';

/** The masked head kernel and how much of it survives. */
export interface AfccResult {
  /** `[P * F, C]` float32, a copy: W[p, k, j] zeroed where j is in none of filter k's clusters. */
  readonly weights: Float32Array;
  /** `[F, C]` 1 where filter k keeps its weights to label j. */
  readonly mask: Uint8Array;
  /** Kernel weights kept (P times the mask's ones; the bias is not counted). */
  readonly kept: number;
  /** All kernel weights, P * F * C. */
  readonly total: number;
  /** kept / total, in [0, 1]. */
  readonly keptFraction: number;
}

/**
 * Which (filter, label) connections AFCC keeps: label j of filter k when j is in one of k's
 * clusters; a filter without a cluster keeps none.
 *
 * @param clusters per filter (F entries), that filter's clusters as label lists in `[0, C)`
 * @param labels C
 * @returns `[F, C]`, 1 = keep
 */
export function afccMask(
  clusters: readonly (readonly (readonly number[])[])[],
  labels: number,
): Uint8Array {
  if (!Number.isInteger(labels) || labels < 1) {
    throw new RangeError(`labels must be a positive integer, got ${labels}`);
  }
  const mask = new Uint8Array(clusters.length * labels);
  clusters.forEach((filterClusters, k) => {
    for (const cluster of filterClusters) {
      for (const j of cluster) {
        if (!Number.isInteger(j) || j < 0 || j >= labels) {
          throw new RangeError(`clusters[${k}] holds label ${j}, outside [0, ${labels})`);
        }
        mask[k * labels + j] = 1;
      }
    }
  });
  return mask;
}

/**
 * Masks a head kernel for AFCC. The input is not changed; the bias is not part of it and is kept.
 *
 * @param weights head kernel `[P * F, C]` float32, flat input index `p * F + k`
 * @param clusters per filter (F entries), its clusters as label lists
 * @param shape P, F and C
 */
export function afccWeights(
  weights: Float32Array,
  clusters: readonly (readonly (readonly number[])[])[],
  shape: HeadShape,
): AfccResult {
  const { positions: P, filters: F, labels: C } = shape;
  for (const [key, value] of Object.entries({ positions: P, filters: F, labels: C })) {
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(`shape.${key} must be a positive integer, got ${value}`);
    }
  }
  if (weights.length !== P * F * C) {
    throw new RangeError(
      `weights must hold P * F * C = ${P * F * C} values ([P * F, C]), got ${weights.length}`,
    );
  }
  if (clusters.length !== F) {
    throw new RangeError(`clusters must have one entry per filter (${F}), got ${clusters.length}`);
  }
  const mask = afccMask(clusters, C);
  let perPosition = 0;
  for (const m of mask) perPosition += m;
  const masked = new Float32Array(weights.length);
  for (let p = 0; p < P; p++) {
    for (let q = 0; q < F * C; q++) {
      if (mask[q]) masked[p * F * C + q] = weights[p * F * C + q]!;
    }
  }
  const total = P * F * C;
  const kept = P * perPosition;
  return { weights: masked, mask, kept, total, keptFraction: kept / total };
}
