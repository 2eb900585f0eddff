import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import type { ArchitectureSpec } from '../src/architecture/index.js';
import { summarize, vgg16, vgg6 } from '../src/architecture/index.js';
import { initBackend } from '../src/engine/backend.js';
import type { MeasureOptions } from './measure.js';
import { measure, workload } from './measure.js';
import { formatProfile, profileTraining } from './profile.js';

/**
 * `npm run bench`: training and inference images/s of the wasm backend (with filterscope's
 * kernels and threads) against PyTorch on the same CPU, same nets, batch and thread count.
 *
 *   npm run bench                                   the table (about 6-10 minutes)
 *   npm run bench -- --seconds 2 --nets vgg6-28     shorter
 *   npm run bench -- --profile --nets vgg6-32       per-kernel time of two training steps
 * Options: --seconds S (timed seconds per column and round, default 5), --rounds R (2),
 * --batch N (64), --threads 2,1 (default: the number of cores, then 1), --nets a,b (default
 * all: vgg6-28, vgg6-32, vgg16-32), --no-torch.
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
  /** Images per second, the best round. */
  readonly train: number;
  readonly infer: number;
  readonly torch: { train: number; infer: number } | null;
}

function options() {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '5' },
      rounds: { type: 'string', default: '2' },
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
    if (!spec) {
      throw new Error(`--nets: unknown net '${name}' (known: ${Object.keys(NETS).join(', ')})`);
    }
    return spec;
  });
  return {
    seconds: positive('seconds', values.seconds),
    rounds: Math.round(positive('rounds', values.rounds)),
    batch: Math.round(positive('batch', values.batch)),
    threads,
    nets,
    torch: !values['no-torch'],
    profile: values.profile,
  };
}

/**
 * bench/torch_bench.py as a child process answering one JSON line per request, so that its
 * measurements can alternate with the wasm ones.
 */
class Torch {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly replies: Array<(line: string) => void> = [];
  private stderr = '';
  private exited: string | null = null;
  readonly version: Promise<string>;

  constructor(script: string) {
    this.child = spawn(PYTHON, [script], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    const lines = readline.createInterface({ input: this.child.stdout });
    lines.on('line', (line) => this.replies.shift()?.(line));
    this.child.on('exit', (code, signal) => {
      this.exited = `torch_bench.py exited (${code ?? signal}): ${this.stderr.trim()}`;
      this.replies.splice(0).forEach((reply) => reply(''));
    });
    this.version = this.next().then((reply) => (reply as { torch: string }).torch);
  }

  private next(): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.exited) return reject(new Error(this.exited));
      this.replies.push((line) =>
        line ? resolve(JSON.parse(line)) : reject(new Error(this.exited ?? 'no reply')),
      );
    });
  }

  private request(body: object): Promise<unknown> {
    const reply = this.next();
    this.child.stdin.write(`${JSON.stringify(body)}\n`);
    return reply;
  }

  async build(spec: ArchitectureSpec, batch: number, threads: number): Promise<void> {
    await this.request({ op: 'build', spec, batch, threads });
  }

  async measure(mode: 'train' | 'infer', m: MeasureOptions): Promise<number> {
    const reply = (await this.request({ op: 'measure', mode, ...m })) as {
      imagesPerSecond: number;
    };
    return reply.imagesPerSecond;
  }

  close(): void {
    this.child.stdin.end();
  }
}

/** Why PyTorch cannot be used, or null when it can. */
function torchMissing(): string | null {
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.error) return `${PYTHON} cannot run: ${probe.error.message}`;
  if (probe.status !== 0) {
    return `${PYTHON} has no torch (${probe.stderr.trim().split('\n').pop() ?? ''})`;
  }
  return null;
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

const fixed = (n: number, digits = 1): string => n.toFixed(digits);

function table(rows: readonly Row[]): string {
  const lines = [
    '| net | MFLOP/img | threads | wasm train img/s | GFLOP/s | torch train img/s | ratio | wasm infer img/s | GFLOP/s | torch infer img/s | ratio |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const flops = summarize(r.spec).flops;
    const t = r.torch;
    const cells = [
      r.spec.name,
      fixed(flops / 1e6, 0),
      String(r.threads),
      fixed(r.train),
      // A training step is counted as 3 forward passes (forward, input and weight gradients).
      fixed((3 * flops * r.train) / 1e9),
      t ? fixed(t.train) : '-',
      t ? fixed(r.train / t.train, 2) : '-',
      fixed(r.infer),
      fixed((flops * r.infer) / 1e9),
      t ? fixed(t.infer) : '-',
      t ? fixed(r.infer / t.infer, 2) : '-',
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

async function profile(opts: ReturnType<typeof options>): Promise<void> {
  const info = await initBackend('wasm', undefined, { threads: opts.threads[0] });
  for (const spec of opts.nets) {
    const { kernels, wallMs } = await profileTraining(spec, opts.batch);
    console.log(
      `\nper-kernel time of 2 training steps: ${spec.name}, batch ${opts.batch}, ${info.device}\n`,
    );
    console.log(formatProfile(kernels, wallMs));
  }
  tf.removeBackend('wasm');
}

async function main(): Promise<void> {
  const opts = options();
  if (opts.profile) return profile(opts);
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const missing = opts.torch ? torchMissing() : 'skipped (--no-torch)';
  const torch = missing === null ? new Torch(torchScript()) : null;
  const torchVersion = torch ? await torch.version : null;
  const started = performance.now();
  const load = os.loadavg()[0] ?? 0;
  const rows: Row[] = [];
  const devices: string[] = [];
  // Each round times wasm and torch back to back, training then inference; a row keeps each
  // column's best round, which is the least disturbed by other work on a shared machine.
  const round = (first: boolean): MeasureOptions => ({
    warmup: first ? 1 : 0,
    minSteps: 1,
    seconds: opts.seconds,
  });
  try {
    for (const threads of opts.threads) {
      if (tf.findBackendFactory('wasm') as unknown) tf.removeBackend('wasm');
      const info = await initBackend('wasm', undefined, { threads });
      devices.push(info.device + (info.threadsFallback ? ` [${info.threadsFallback}]` : ''));
      for (const spec of opts.nets) {
        const work = workload(spec, opts.batch);
        await torch?.build(spec, opts.batch, info.threads);
        const best = { train: 0, infer: 0, torchTrain: 0, torchInfer: 0 };
        for (let r = 0; r < opts.rounds; r++) {
          const m = round(r === 0);
          best.train = Math.max(
            best.train,
            measure(() => work.train(), opts.batch, m).imagesPerSecond,
          );
          best.torchTrain = Math.max(best.torchTrain, (await torch?.measure('train', m)) ?? 0);
          best.infer = Math.max(
            best.infer,
            measure(() => work.infer(), opts.batch, m).imagesPerSecond,
          );
          best.torchInfer = Math.max(best.torchInfer, (await torch?.measure('infer', m)) ?? 0);
        }
        work.dispose();
        const t = torch ? { train: best.torchTrain, infer: best.torchInfer } : null;
        rows.push({ spec, threads: info.threads, train: best.train, infer: best.infer, torch: t });
        log(
          `${spec.name}, ${info.threads} thread(s): wasm train ${fixed(best.train)} img/s, ` +
            `infer ${fixed(best.infer)} img/s` +
            (t ? `; torch train ${fixed(t.train)}, infer ${fixed(t.infer)}` : ''),
        );
      }
    }
  } finally {
    torch?.close();
    if (tf.findBackendFactory('wasm') as unknown) tf.removeBackend('wasm');
  }

  console.log(
    `\nfilterscope engine benchmark: batch ${opts.batch}, best of ${opts.rounds} rounds of ` +
      `>= ${opts.seconds} s per column, wasm and torch alternating`,
  );
  console.log(`wasm: ${devices.join('; ')}`);
  console.log(
    torchVersion
      ? `torch: PyTorch ${torchVersion} (${PYTHON}), CPU, torch.set_num_threads(threads)`
      : `torch: columns skipped: ${missing ?? ''}`,
  );
  console.log(`\n${table(rows)}\n`);
  const withTorch = rows.filter((r) => r.torch);
  if (withTorch.length > 0) {
    const min = (f: (r: Row) => number): string => fixed(Math.min(...withTorch.map(f)), 2);
    console.log(
      `lowest ratios: training ${min((r) => r.train / (r.torch?.train ?? NaN))} (target >= 0.18), ` +
        `inference ${min((r) => r.infer / (r.torch?.infer ?? NaN))} (target >= 0.33)`,
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
