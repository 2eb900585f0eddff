/**
 * Phase 3's contraction on the CPU, for one VGG-16-sized last layer: F = 512 filters on a 4x4
 * probe point (P = 16), C = 10 labels, 10000 test images fed in batches of 250. Activations are
 * ReLU-like (about half zero) unless ANALYSIS_DENSE=1.
 * Run: tsc -p bench/tsconfig.json && node bench/out/bench/analysis.js
 */
import {
  AblationAccumulator,
  CorrelationAccumulator,
  outputFields,
  type HeadShape,
} from '../src/analysis/index.js';

const shape: HeadShape = { positions: 16, filters: 512, labels: 10 };
const IMAGES = 10_000;
const BATCH = 250;
const REPEATS = Number(process.env.ANALYSIS_REPEATS ?? 3);
const DENSE = process.env.ANALYSIS_DENSE === '1';

/** xorshift32 in [0, 1): deterministic inputs without the app's data/ module. */
function random(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

const { positions: P, filters: F, labels: C } = shape;
const rand = random(1);
const weights = Float32Array.from({ length: P * F * C }, () => (rand() * 2 - 1) * 0.05);
// 1000 distinct images, cycled through ten times: the timing does not depend on their content.
const POOL = 1000;
const pool = Float32Array.from({ length: POOL * P * F }, () =>
  DENSE ? rand() : Math.max(0, rand() * 2 - 1),
);
const labels = Int32Array.from({ length: POOL }, () => Math.floor(rand() * C));
const logits = Float32Array.from({ length: POOL * C }, () => rand() * 2 - 1);
let zeros = 0;
for (const a of pool) if (a === 0) zeros++;

/** Best wall time of REPEATS runs of `work`, in seconds. */
function best(work: () => void): number {
  let fastest = Infinity;
  for (let r = 0; r < REPEATS; r++) {
    const start = performance.now();
    work();
    fastest = Math.min(fastest, (performance.now() - start) / 1000);
  }
  return fastest;
}

function batches(each: (from: number, to: number) => void): void {
  for (let done = 0; done < IMAGES; done += BATCH) {
    const from = done % POOL;
    each(from, from + BATCH);
  }
}

const correlation = best(() => {
  const accumulator = new CorrelationAccumulator(weights, shape);
  batches((from, to) =>
    accumulator.add(pool.subarray(from * P * F, to * P * F), labels.subarray(from, to)),
  );
  accumulator.finish();
});
const fieldsBuffer = new Float64Array(BATCH * F * C);
const fields = best(() =>
  batches((from, to) =>
    outputFields(pool.subarray(from * P * F, to * P * F), weights, shape, fieldsBuffer),
  ),
);
const ablation = best(() => {
  const accumulator = new AblationAccumulator(weights, shape);
  batches((from, to) =>
    accumulator.add(
      pool.subarray(from * P * F, to * P * F),
      logits.subarray(from * C, to * C),
      labels.subarray(from, to),
    ),
  );
  accumulator.finish();
});

// Multiply-adds of the per-image definition, n * P * F * C, whatever the implementation does.
const macs = IMAGES * P * F * C;
const rows = [
  ['correlation matrices (add + finish)', correlation],
  ['output fields alone', fields],
  ['output fields + ablation counts', ablation],
] as const;
console.log(
  `F=${F} P=${P} C=${C} images=${IMAGES} batch=${BATCH} zero activations=` +
    `${((100 * zeros) / pool.length).toFixed(0)}% best of ${REPEATS}, node ${process.version}`,
);
console.log('| step | seconds | images/s | definition GMAC/s |');
console.log('|---|---:|---:|---:|');
for (const [name, seconds] of rows) {
  console.log(
    `| ${name} | ${seconds.toFixed(3)} | ${Math.round(IMAGES / seconds)} | ` +
      `${(macs / seconds / 1e9).toFixed(2)} |`,
  );
}
