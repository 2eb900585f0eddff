import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import type { ArchitectureSpec } from '../src/architecture/index.js';
import { summarize, vgg16, vgg6 } from '../src/architecture/index.js';
import { initBackend } from '../src/engine/backend.js';
import type { MeasureOptions, Timing } from './measure.js';
import { measure, workload } from './measure.js';
import { formatProfile, profileTraining } from './profile.js';

/**
 * `npm run bench`: training and inference images/s of the wasm backend (with filterscope's
 * kernels and threads) against PyTorch on the same CPU, same nets, batch and thread count.
 *
 *   npm run bench                                   the table (about 6-10 minutes)
 *   npm run bench -- --seconds 4 --nets vgg6-28     shorter
 *   npm run bench -- --profile --nets vgg6-32       per-kernel time of one training step
 * Options: --seconds S (timed seconds per measurement, default 10), --batch N (64),
 * --threads 2,1 (default: the number of cores, then 1), --nets a,b (default all), --no-torch.
 */

const NETS: Record<string, ArchitectureSpec> = {
  'vgg6-28': vgg6('VGG-6 28x28x1', [28, 28, 1], 10),
  'vgg6-32': vgg6('VGG-6 32x32x3', [32, 32, 3], 10),
  'vgg16-32': vgg16('VGG-16 32x32x3', [32, 32, 3], 10),
};

const PYTHON = '/usr/bin/python3';

interface Row {
  readonly spec: ArchitectureSpec;
  readonly threads: number;
  readonly train: Timing;
  readonly infer: Timing;
  readonly torch: { train: number; infer: number } | null;
}

function options() {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '10' },
      batch: { type: 'string', default: '64' },
      threads: { type: 'string' },
      nets: { type: 'string', default: Object.keys(NETS).join(',') },
      'no-torch': { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
    },
  });
  const positive = (name: string, raw: string): number => {
    const n = Number(raw);
    if (!(n > 0)) throw new Error(`--${name} must be a positive number, got '${raw}'`);
    return n;
  };
  const cores = os.availableParallelism();
  const threads = (values.threads ?? `${cores},1`)
    .split(',')
    .map((t) => Math.round(positive('threads', t)))
    .filter((t, i, all) => all.indexOf(t) === i);
  const nets = values.nets.split(',').map((name) => {
    const spec = NETS[name];
    if (!spec)
      throw new Error(`--nets: unknown net '${name}' (known: ${Object.keys(NETS).join(', ')})`);
    return spec;
  });
  return {
    seconds: positive('seconds', values.seconds),
    batch: Math.round(positive('batch', values.batch)),
    threads,
    nets,
    torch: !values['no-torch'],
    profile: values.profile,
  };
}

/** The torch version, or why PyTorch cannot be used. */
function probeTorch(): { version: string } | { missing: string } {
  const probe = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], {
    encoding: 'utf8',
  });
  if (probe.error) return { missing: `${PYTHON} cannot run: ${probe.error.message}` };
  if (probe.status !== 0)
    return { missing: `${PYTHON} has no torch (${probe.stderr.trim().split('\n').pop()})` };
  return { version: probe.stdout.trim() };
}

function torchScript(): string {
  // Compiled to bench/out/bench/engine.js; the script stays in bench/.
  const candidates = [
    path.join(__dirname, '..', '..', 'torch_bench.py'),
    path.resolve('bench/torch_bench.py'),
  ];
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new Error(`torch_bench.py not found (looked at ${candidates.join(', ')})`);
  return found;
}

function runTorch(spec: ArchitectureSpec, batch: number, threads: number, m: MeasureOptions) {
  const input = JSON.stringify({ specs: [spec], batch, threads, ...m });
  const run = spawnSync(PYTHON, [torchScript()], { input, encoding: 'utf8', timeout: 600_000 });
  if (run.status !== 0) {
    throw new Error(`torch_bench.py failed (${run.status ?? run.signal}): ${run.stderr.trim()}`);
  }
  const out = JSON.parse(run.stdout) as { results: Array<{ train: number; infer: number }> };
  const result = out.results[0];
  if (!result) throw new Error('torch_bench.py returned no result');
  return result;
}

const fixed = (n: number, digits = 1): string => n.toFixed(digits);

function table(rows: readonly Row[]): string {
  const lines = [
    '| net | MFLOP/img | threads | wasm train img/s | GFLOP/s | torch train img/s | ratio | wasm infer img/s | GFLOP/s | torch infer img/s | ratio |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const flops = summarize(r.spec).flops;
    const train = r.train.imagesPerSecond;
    const infer = r.infer.imagesPerSecond;
    const t = r.torch;
    lines.push(
      [
        r.spec.name,
        fixed(flops / 1e6, 0),
        r.threads,
        fixed(train),
        // A training step is counted as 3 forward passes (forward, input and weight gradients).
        fixed((3 * flops * train) / 1e9),
        t ? fixed(t.train) : '-',
        t ? fixed(train / t.train, 2) : '-',
        fixed(infer),
        fixed((flops * infer) / 1e9),
        t ? fixed(t.infer) : '-',
        t ? fixed(infer / t.infer, 2) : '-',
      ]
        .join(' | ')
        .replace(/^/, '| ')
        .concat(' |'),
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const opts = options();
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const m: MeasureOptions = { warmup: 2, minSteps: 2, seconds: opts.seconds };

  if (opts.profile) {
    const info = await initBackend('wasm', undefined, { threads: opts.threads[0] });
    for (const spec of opts.nets) {
      const { kernels, wallMs } = await profileTraining(spec, opts.batch);
      console.log(
        `\nper-kernel time of 2 training steps: ${spec.name}, batch ${opts.batch}, ${info.device}\n`,
      );
      console.log(formatProfile(kernels, wallMs));
    }
    tf.removeBackend('wasm');
    return;
  }

  const torch = opts.torch ? probeTorch() : { missing: 'skipped (--no-torch)' };
  const started = performance.now();
  const load = os.loadavg()[0] ?? 0;
  const rows: Row[] = [];
  const devices: string[] = [];
  for (const threads of opts.threads) {
    if (tf.findBackendFactory('wasm') as unknown) tf.removeBackend('wasm');
    const info = await initBackend('wasm', undefined, { threads });
    devices.push(info.device + (info.threadsFallback ? ` [${info.threadsFallback}]` : ''));
    for (const spec of opts.nets) {
      const work = workload(spec, opts.batch);
      const train = measure(() => work.train(), opts.batch, m);
      const infer = measure(() => work.infer(), opts.batch, m);
      work.dispose();
      const t = 'version' in torch ? runTorch(spec, opts.batch, info.threads, m) : null;
      rows.push({ spec, threads: info.threads, train, infer, torch: t });
      log(
        `${spec.name}, ${info.threads} thread(s): wasm train ${fixed(train.imagesPerSecond)} img/s ` +
          `(${train.steps} steps), infer ${fixed(infer.imagesPerSecond)} img/s` +
          (t ? `; torch train ${fixed(t.train)}, infer ${fixed(t.infer)}` : ''),
      );
    }
  }
  tf.removeBackend('wasm');

  console.log(
    `\nfilterscope engine benchmark, batch ${opts.batch}, ${opts.seconds} s per measurement`,
  );
  console.log(`wasm: ${devices.join('; ')}`);
  console.log(
    'version' in torch
      ? `torch: PyTorch ${torch.version} (${PYTHON}), CPU, torch.set_num_threads(threads)`
      : `torch: columns skipped: ${torch.missing}`,
  );
  console.log(`\n${table(rows)}\n`);
  const withTorch = rows.filter((r) => r.torch);
  if (withTorch.length > 0) {
    const min = (f: (r: Row) => number): string => fixed(Math.min(...withTorch.map(f)), 2);
    console.log(
      `lowest ratios: training ${min((r) => r.train.imagesPerSecond / r.torch!.train)} (target >= 0.18), ` +
        `inference ${min((r) => r.infer.imagesPerSecond / r.torch!.infer)} (target >= 0.33)`,
    );
  }
  console.log(
    `${os.availableParallelism()} cores, load average ${fixed(load, 2)} at start, ` +
      `${fixed(os.loadavg()[0] ?? 0, 2)} at end; ${fixed((performance.now() - started) / 60000)} min`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
