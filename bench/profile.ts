import * as tf from '@tensorflow/tfjs';
import type { ArchitectureSpec } from '../src/architecture/index.js';
import { workload } from './measure.js';

/**
 * Where a training step's time goes, per kernel, from `tf.profile`. A composite kernel (the
 * conv gradients, Sum, Mean of src/engine/kernels) counts as one kernel: the backend kernels it
 * calls directly are not seen by the profiler. Ops with a custom gradient (tf.fused.conv2d) are
 * also profiled as a whole, around the kernels they run; those entries are not kernels of the
 * backend and are left out, so that no time is counted twice.
 */

export interface KernelShare {
  readonly kernel: string;
  readonly calls: number;
  /** Milliseconds over the profiled steps. */
  readonly ms: number;
  /** Fraction of all kernel time. */
  readonly share: number;
}

/**
 * Profiles `steps` training steps of `spec` at `batch` on the active backend, after 2 warm-up
 * steps. Returns kernels by time, largest first, and the wall time of the profiled steps (ms).
 */
export async function profileTraining(
  spec: ArchitectureSpec,
  batch: number,
  steps = 2,
): Promise<{ kernels: KernelShare[]; wallMs: number }> {
  const work = workload(spec, batch);
  try {
    work.train();
    work.train();
    const start = performance.now();
    const info = await tf.profile(() => {
      for (let i = 0; i < steps; i++) work.train();
    });
    const wallMs = performance.now() - start;
    const totals = new Map<string, { calls: number; ms: number }>();
    const backend = tf.getBackend();
    for (const k of info.kernels) {
      if (!(tf.getKernel(k.name, backend) as tf.KernelConfig | undefined)) continue;
      const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      const entry = totals.get(k.name) ?? { calls: 0, ms: 0 };
      entry.calls += 1;
      entry.ms += ms;
      totals.set(k.name, entry);
    }
    const all = [...totals.values()].reduce((sum, e) => sum + e.ms, 0);
    const kernels = [...totals.entries()]
      .map(([kernel, e]) => ({ kernel, calls: e.calls, ms: e.ms, share: all > 0 ? e.ms / all : 0 }))
      .sort((a, b) => b.ms - a.ms);
    return { kernels, wallMs };
  } finally {
    work.dispose();
  }
}

/** The profile as a table: the kernels making up `cover` of the time, then the rest summed. */
export function formatProfile(
  kernels: readonly KernelShare[],
  wallMs: number,
  cover = 0.99,
): string {
  const total = kernels.reduce((sum, k) => sum + k.ms, 0);
  const lines = [`| kernel | calls | ms | share |`, `|---|---:|---:|---:|`];
  let covered = 0;
  let rest = { calls: 0, ms: 0, n: 0 };
  for (const k of kernels) {
    if (covered < cover) {
      lines.push(
        `| ${k.kernel} | ${k.calls} | ${k.ms.toFixed(0)} | ${(100 * k.share).toFixed(1)}% |`,
      );
    } else {
      rest = { calls: rest.calls + k.calls, ms: rest.ms + k.ms, n: rest.n + 1 };
    }
    covered += k.share;
  }
  if (rest.n > 0) {
    lines.push(
      `| (${rest.n} others) | ${rest.calls} | ${rest.ms.toFixed(0)} | ${((100 * rest.ms) / total).toFixed(1)}% |`,
    );
  }
  lines.push(
    `kernel time ${total.toFixed(0)} ms of ${wallMs.toFixed(0)} ms wall (profiling overhead included)`,
  );
  return lines.join('\n');
}
