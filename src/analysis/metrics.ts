/**
 * One filter's metrics from its raw correlation matrix (docs/METHOD.md, "Phase 3"): preferred
 * label, normalised matrix, marks, clusters, signal, noise, SNR. Computed in float64 from the stored
 * float32 matrix, so they can be recomputed for any threshold or normalisation.
 */

/** How the raw matrix M is normalised before thresholding. */
export const Normalization = {
  /** Subtract each column's mean over rows, then divide by the largest absolute entry. */
  COLUMN_CENTERED: 'COLUMN_CENTERED',
  /** Divide M by its largest entry. */
  MAX: 'MAX',
  /** M as is. */
  NONE: 'NONE',
} as const;
export type Normalization = (typeof Normalization)[keyof typeof Normalization];

/** The METHOD.md defaults. */
export const DEFAULT_THRESHOLD = 0.3;
export const DEFAULT_NORMALIZATION: Normalization = Normalization.COLUMN_CENTERED;

/** Parameters of {@link filterMetrics}. */
export interface FilterMetricsOptions {
  /** A mark is N[i][j] >= threshold (default 0.3). */
  readonly threshold?: number;
  /** Default `COLUMN_CENTERED`. */
  readonly normalization?: Normalization;
}

/** One filter's metrics; matrices are `[C, C]` row-major (row = true label, column = output). */
export interface FilterMetrics {
  /** The column with the largest mean over rows of the raw matrix (ties: lowest index). */
  readonly preferredLabel: number;
  /** Fraction of rows, in [0, 1], whose largest raw entry is in `preferredLabel`'s column. */
  readonly preference: number;
  /** N, float64 `[C, C]`. */
  readonly normalized: Float64Array;
  /** B = N >= threshold, 0 or 1, `[C, C]`. */
  readonly marks: Uint8Array;
  /** The number of marks. */
  readonly markCount: number;
  /** Each cluster's labels ascending; clusters ordered by their lowest label. */
  readonly clusters: number[][];
  /** Marks B[i][j] with i and j in the same cluster. */
  readonly signal: number;
  /** All other marks. */
  readonly noise: number;
  /** signal / noise; null when noise is 0. */
  readonly snr: number | null;
  /** noise === 0 (also when there are no marks at all). */
  readonly noiseFree: boolean;
}

/** The side of a square `[C, C]` matrix; throws unless `length` is a positive square. */
export function labelsOf(matrix: ArrayLike<number>): number {
  const labels = Math.round(Math.sqrt(matrix.length));
  if (labels < 1 || labels * labels !== matrix.length) {
    throw new RangeError(`a correlation matrix must hold C * C values, got ${matrix.length}`);
  }
  return labels;
}

/** The largest |entry| of a matrix (0 for an empty one); a filter's scale is relative to it. */
export function maxAbs(matrix: ArrayLike<number>): number {
  let max = 0;
  for (let q = 0; q < matrix.length; q++) {
    const v = Math.abs(matrix[q]!);
    if (v > max) max = v;
  }
  return max;
}

/**
 * The preferred label (the column with the largest mean over rows) and the fraction of rows whose
 * largest entry lies in that column. Ties in both argmaxes go to the lowest label index. Every
 * row counts, including the all-zero row of a label with no test image.
 *
 * @param matrix raw `[C, C]` row-major
 */
export function preferredLabel(matrix: ArrayLike<number>): {
  preferredLabel: number;
  preference: number;
} {
  const C = labelsOf(matrix);
  let best = 0;
  let bestSum = -Infinity;
  for (let j = 0; j < C; j++) {
    // Comparing column sums is comparing means (same C rows).
    let sum = 0;
    for (let i = 0; i < C; i++) sum += matrix[i * C + j]!;
    if (sum > bestSum) {
      bestSum = sum;
      best = j;
    }
  }
  let rows = 0;
  for (let i = 0; i < C; i++) {
    let arg = 0;
    for (let j = 1; j < C; j++) if (matrix[i * C + j]! > matrix[i * C + arg]!) arg = j;
    if (arg === best) rows++;
  }
  return { preferredLabel: best, preference: rows / C };
}

function checkNormalization(normalization: unknown): asserts normalization is Normalization {
  if (!Object.values(Normalization).includes(normalization as Normalization)) {
    throw new RangeError(
      `normalization must be one of ${Object.values(Normalization).join(', ')}, ` +
        `got ${String(normalization)}`,
    );
  }
}

/**
 * The normalised matrix N in float64.
 *
 * - `COLUMN_CENTERED`: subtract each column's mean over rows, divide by the largest absolute
 *   centred entry, so N lies in [-1, 1]. Each column is centred about its first entry before the
 *   mean is taken, so a column of equal values centres to exact zeros (no rounding residue that
 *   the division would blow up into marks).
 * - `MAX`: M divided by its largest entry (N may go below -1).
 * - `NONE`: M as is.
 *
 * @param matrix raw `[C, C]` row-major
 * @returns N `[C, C]` and whether a divisor <= 0 zeroed it (`degenerate`: then no marks)
 */
export function normalize(
  matrix: ArrayLike<number>,
  normalization: Normalization = DEFAULT_NORMALIZATION,
): { normalized: Float64Array; degenerate: boolean } {
  checkNormalization(normalization);
  const C = labelsOf(matrix);
  const N = Float64Array.from(matrix);
  if (normalization === Normalization.NONE) return { normalized: N, degenerate: false };
  let divisor: number;
  if (normalization === Normalization.MAX) {
    divisor = -Infinity;
    for (let q = 0; q < N.length; q++) if (N[q]! > divisor) divisor = N[q]!;
  } else {
    for (let j = 0; j < C; j++) {
      const reference = N[j]!;
      let sum = 0;
      for (let i = 0; i < C; i++) {
        N[i * C + j]! -= reference;
        sum += N[i * C + j]!;
      }
      const mean = sum / C;
      for (let i = 0; i < C; i++) N[i * C + j]! -= mean;
    }
    divisor = maxAbs(N);
  }
  // `!(divisor > 0)` also catches NaN.
  if (!(divisor > 0)) return { normalized: new Float64Array(C * C), degenerate: true };
  for (let q = 0; q < N.length; q++) N[q]! /= divisor;
  return { normalized: N, degenerate: false };
}

/**
 * Clusters of a mark matrix: the connected components of the graph whose vertices are the labels i
 * with B[i][i] set, with an edge a-b when B[a][b] and B[b][a] are both set. A lone vertex is a
 * cluster of size 1; a label without its diagonal mark is in no cluster.
 *
 * @param marks B `[C, C]` row-major, nonzero = mark
 * @returns each cluster's labels ascending, clusters ordered by their lowest label
 */
export function clustersOf(marks: ArrayLike<number>): number[][] {
  const C = labelsOf(marks);
  const component = new Int32Array(C).fill(-1);
  const clusters: number[][] = [];
  for (let start = 0; start < C; start++) {
    if (!marks[start * C + start] || component[start] !== -1) continue;
    const id = clusters.length;
    const members: number[] = [];
    const stack = [start];
    component[start] = id;
    while (stack.length > 0) {
      const a = stack.pop()!;
      members.push(a);
      for (let b = 0; b < C; b++) {
        if (component[b] !== -1 || !marks[b * C + b]) continue;
        if (marks[a * C + b] && marks[b * C + a]) {
          component[b] = id;
          stack.push(b);
        }
      }
    }
    clusters.push(members.sort((x, y) => x - y));
  }
  return clusters;
}

/**
 * Signal (marks B[i][j] with i and j in the same cluster, diagonal and one-way marks included) and
 * noise (every other mark).
 *
 * @param marks B `[C, C]` row-major, nonzero = mark
 * @param clusters from {@link clustersOf} (disjoint label sets)
 */
export function signalAndNoise(
  marks: ArrayLike<number>,
  clusters: readonly (readonly number[])[],
): { signal: number; noise: number } {
  const C = labelsOf(marks);
  const component = new Int32Array(C).fill(-1);
  clusters.forEach((members, id) => {
    for (const label of members) component[label] = id;
  });
  let signal = 0;
  let noise = 0;
  for (let i = 0; i < C; i++) {
    for (let j = 0; j < C; j++) {
      if (!marks[i * C + j]) continue;
      if (component[i] !== -1 && component[i] === component[j]) signal++;
      else noise++;
    }
  }
  return { signal, noise };
}

/**
 * All of one filter's metrics from its raw correlation matrix, in float64.
 *
 * @param matrix raw `[C, C]` row-major (float32 as stored, or plain numbers)
 * @param options `threshold` (default 0.3), `normalization` (default `COLUMN_CENTERED`)
 */
export function filterMetrics(
  matrix: ArrayLike<number>,
  options: FilterMetricsOptions = {},
): FilterMetrics {
  const threshold = options.threshold ?? DEFAULT_THRESHOLD;
  if (!Number.isFinite(threshold)) {
    throw new RangeError(`threshold must be a finite number, got ${threshold}`);
  }
  const C = labelsOf(matrix);
  const preferred = preferredLabel(matrix);
  const { normalized, degenerate } = normalize(
    matrix,
    options.normalization ?? DEFAULT_NORMALIZATION,
  );
  const marks = new Uint8Array(C * C);
  let markCount = 0;
  if (!degenerate) {
    for (let q = 0; q < marks.length; q++) {
      if (normalized[q]! >= threshold) {
        marks[q] = 1;
        markCount++;
      }
    }
  }
  const clusters = clustersOf(marks);
  const { signal, noise } = signalAndNoise(marks, clusters);
  return {
    ...preferred,
    normalized,
    marks,
    markCount,
    clusters,
    signal,
    noise,
    snr: noise === 0 ? null : signal / noise,
    noiseFree: noise === 0,
  };
}
