import type { Split } from './types.js';

/** The first `max` examples of a split (views, no copy); the whole split when `max` is null or larger. */
export function firstExamples(split: Split, max: number | null): Split {
  if (max === null || max >= split.count) return split;
  const pixels = split.images.length / split.count;
  return {
    images: split.images.subarray(0, max * pixels),
    labels: split.labels.subarray(0, max),
    count: max,
  };
}
