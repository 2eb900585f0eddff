/**
 * Picks at most `n` of `length` points of several series so that the first, the last and each
 * series' minimum and maximum survive (in that priority when `n` is too small for all), then
 * fills the rest evenly. Returns sorted indices.
 *
 * @param series each an array of `length` numbers (e.g. test SR per epoch)
 * @param n at most this many indices, n >= 2
 */
export function downsampleIndices(
  series: readonly (readonly number[])[],
  length: number,
  n: number,
): number[] {
  if (!Number.isInteger(n) || n < 2) throw new RangeError(`n must be an integer >= 2, got ${n}`);
  if (length <= n) return Array.from({ length }, (_, i) => i);
  const keep = new Set<number>([0, length - 1]);
  const extremes: number[] = [];
  for (const values of series) {
    let lo = 0;
    let hi = 0;
    for (let i = 1; i < length; i++) {
      if ((values[i] ?? 0) < (values[lo] ?? 0)) lo = i;
      if ((values[i] ?? 0) > (values[hi] ?? 0)) hi = i;
    }
    extremes.push(lo, hi);
  }
  for (const i of extremes) {
    if (keep.size >= n) break;
    keep.add(i);
  }
  // Even fill: walk a regular grid and take the nearest index not yet kept.
  for (let k = 1; keep.size < n && k < n; k++) {
    const target = Math.round((k * (length - 1)) / (n - 1));
    for (let d = 0; d < length; d++) {
      if (target - d >= 0 && !keep.has(target - d)) {
        keep.add(target - d);
        break;
      }
      if (target + d < length && !keep.has(target + d)) {
        keep.add(target + d);
        break;
      }
    }
  }
  return [...keep].sort((a, b) => a - b);
}
