/**
 * A whole probe (phases 2 and 3, docs/METHOD.md) through filterscope and through the same probe
 * written in PyTorch (bench/probe_torch.py), on the same machine in one run:
 *
 * - VGG-6 (28x28x1) trained briefly on Fashion-MNIST (the project's loader), probed at --train
 *   training and --test test images (default 12,000 and 10,000) with --epochs head epochs
 *   (default 5);
 * - VGG-16 (32x32x3, weights as one short training step left them) on --vgg16-images procedural
 *   images (default 10,000: 80% train, 20% test).
 *
 * Each probe runs in a child process of its own (filterscope's on its default path: what the
 * server runs, FILTERSCOPE_FROZEN_RUNTIME=auto, the 512 MiB feature cache, the spill to disk), and
 * reports its parts and its peak resident set (VmHWM). Prints a table per part, the replicates'
 * spread on Fashion-MNIST VGG-6 and their cost against one head, and as its last line
 * `probe wall-time ratio filterscope/PyTorch: X.XX` (both networks' probes together).
 *
 * Run: npm run bench:probe [-- --train 2000 --test 1000 --epochs 2 --vgg16-images 1000]
 * (--no-single skips the one-replicate probe that prices the replicates; --frozen tfjs|onnxruntime
 * sets filterscope's frozen runtime instead of auto).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ArchitectureSpec } from '../src/architecture/index.js';
import { vgg16, vgg6 } from '../src/architecture/presets.js';
import { decodeCheckpoint } from '../src/contract/checkpoint.js';
import { resolveHyperparameters } from '../src/contract/hyperparameters.js';
import { planProbe, type ProbeOptions } from '../src/contract/probe-options.js';
import { MessageType, type OutboundMessage } from '../src/contract/protocol.js';
import { dataRoots } from '../src/data/catalog.js';
import { loadDataset } from '../src/data/load.js';
import { generateProcedural } from '../src/data/procedural.js';
import type { LoadedDataset } from '../src/data/types.js';
import { initBackend } from '../src/engine/backend.js';
import { probe } from '../src/engine/probe.js';
import { train } from '../src/engine/train.js';
import { writeFrozenOnnx } from '../src/interop/onnx-frozen.js';

// Compiled to bench/out/bench/probe-cost.js (CommonJS).
const ROOT = resolve(__dirname, '../../..');
const PYTHON = '/usr/bin/python3';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const text = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};

/** What a child probe reports (filterscope's and PyTorch's alike). */
interface Measured {
  featuresSeconds: number;
  headsSeconds: number;
  phase3Seconds: number;
  afccSeconds: number;
  wallSeconds: number;
  peakRssBytes: number;
  frozenPath?: string;
  featureStore?: string;
  successRate: number[];
  successRateStd: number[];
  snr?: (number | null)[];
  snrStd?: (number | null)[];
  layers?: string[];
  torch?: string;
}

/** A job folder: the checkpoint, the frozen ONNX, the splits as raw bytes, and meta.json. */
function writeJob(
  folder: string,
  spec: ArchitectureSpec,
  checkpoint: Uint8Array,
  data: LoadedDataset,
  options: ProbeOptions,
): void {
  mkdirSync(folder, { recursive: true });
  const plan = planProbe(options, { spec });
  const saved = decodeCheckpoint(checkpoint);
  writeFileSync(join(folder, 'checkpoint.bin'), checkpoint);
  writeFileSync(join(folder, 'frozen.onnx'), writeFrozenOnnx(spec, saved.weights, plan.points));
  for (const [name, split] of [
    ['train', data.train],
    ['test', data.test],
  ] as const) {
    writeFileSync(join(folder, `${name}.u8`), split.images.subarray(0, split.count * pixels(spec)));
    writeFileSync(
      join(folder, `${name}.labels`),
      new Uint8Array(split.labels.buffer, split.labels.byteOffset, split.count * 4),
    );
  }
  const meta = {
    spec,
    inputShape: spec.inputShape,
    labels: spec.labels,
    labelNames: data.labelNames,
    normalization: saved.meta.normalization,
    points: plan.points,
    options: plan.options,
    train: { count: data.train.count },
    test: { count: data.test.count },
  };
  writeFileSync(join(folder, 'meta.json'), JSON.stringify(meta));
}

const pixels = (spec: ArchitectureSpec): number =>
  spec.inputShape[0] * spec.inputShape[1] * spec.inputShape[2];

/** The child: one filterscope probe of a job folder, its numbers as one JSON line. */
async function child(folder: string): Promise<void> {
  const meta = JSON.parse(readFileSync(join(folder, 'meta.json'), 'utf8'));
  const spec = meta.spec as ArchitectureSpec;
  const split = (name: 'train' | 'test') => {
    const count = meta[name].count as number;
    const labels = readFileSync(join(folder, `${name}.labels`));
    return {
      images: new Uint8Array(readFileSync(join(folder, `${name}.u8`))),
      labels: new Int32Array(labels.buffer, labels.byteOffset, count),
      count,
    };
  };
  const dataset: LoadedDataset = {
    name: 'bench',
    inputShape: spec.inputShape,
    labelNames: meta.labelNames,
    train: split('train'),
    test: split('test'),
  };
  await initBackend((process.env.FILTERSCOPE_BACKEND as never) ?? 'auto');
  const spill = mkdtempSync(join(tmpdir(), 'filterscope-bench-spill-'));
  try {
    const result = await probe(
      new Uint8Array(readFileSync(join(folder, 'checkpoint.bin'))),
      dataset,
      { options: meta.options, points: meta.points },
      () => undefined,
      undefined,
      {
        diskBytes: 2 ** 35,
        directory: spill,
        float16: true,
        frozenRuntime: (process.env.FILTERSCOPE_FROZEN_RUNTIME as never) || 'auto',
      },
    );
    const t = result.timings;
    const out: Measured = {
      featuresSeconds: t.featuresSeconds,
      headsSeconds: t.headsSeconds,
      phase3Seconds: t.phase3Seconds,
      afccSeconds: t.afccSeconds,
      wallSeconds: result.wallSeconds,
      peakRssBytes: peakRss(),
      frozenPath: t.frozenPath,
      featureStore: t.featureStore,
      layers: result.layers.map((l) => l.layer),
      successRate: result.layers.map((l) => l.successRate),
      successRateStd: result.layers.map((l) => l.replicates.successRate.std ?? 0),
      snr: result.layers.map((l) => l.replicates.snr.mean),
      snrStd: result.layers.map((l) => l.replicates.snr.std),
    };
    console.log(JSON.stringify(out));
  } finally {
    rmSync(spill, { recursive: true, force: true });
  }
}

function peakRss(): number {
  const line = readFileSync('/proc/self/status', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmHWM:'));
  return line ? Number(line.split(/\s+/)[1]) * 1024 : 0;
}

/** Runs a child process and parses its last line. */
function runChild(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Measured {
  const started = performance.now();
  const r = spawnSync(command, args, {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 1 << 26,
  });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  const measured = JSON.parse(lines[lines.length - 1]!) as Measured;
  process.stderr.write(
    `  ${command === PYTHON ? 'PyTorch' : 'filterscope'} done in ${((performance.now() - started) / 1000).toFixed(0)} s\n`,
  );
  return measured;
}

const filterscopeProbe = (folder: string): Measured =>
  runChild(process.execPath, [__filename, '--child', folder], {
    ...(text('frozen') ? { FILTERSCOPE_FROZEN_RUNTIME: text('frozen') } : {}),
  });
const torchProbe = (folder: string): Measured =>
  runChild(PYTHON, [join(ROOT, 'bench/probe_torch.py'), folder]);

/** A checkpoint of `spec` after a short training on `data` (the probe's cost does not depend on it). */
async function checkpointOf(
  spec: ArchitectureSpec,
  data: LoadedDataset,
  examples: number,
): Promise<Uint8Array> {
  let checkpoint: Uint8Array | null = null;
  await train(
    {
      architecture: spec,
      dataset: { name: data.name },
      hyperparameters: resolveHyperparameters(
        { epochs: 1, batchSize: 64, maxTrainExamples: examples, learningRate: 0.02 },
        data,
      ),
    },
    data,
    {
      post: (m: OutboundMessage) => {
        if (m.type === MessageType.Checkpoint) checkpoint = m.bytes;
      },
      onMessage: () => () => undefined,
    },
  );
  if (!checkpoint) throw new Error('training wrote no checkpoint');
  return checkpoint;
}

const s = (x: number): string => x.toFixed(1);
const gib = (bytes: number): string => (bytes / 2 ** 30).toFixed(2);
const row = (cells: (string | number)[]): string => `| ${cells.join(' | ')} |`;

interface Results {
  fsVgg6?: Measured;
  ptVgg6?: Measured;
  fsVgg16?: Measured;
  ptVgg16?: Measured;
  single?: Measured;
}

interface Context {
  readonly epochs: number;
  readonly backend: string;
  readonly fashion: string;
  readonly vgg16: string;
}

/** The table of what has been measured so far (rows of probes not yet run are left out). */
function report(r: Results, c: Context): string[] {
  const { fsVgg6, ptVgg6, fsVgg16, ptVgg16, single } = r;
  const lines: string[] = [];
  const say = (line = ''): void => {
    lines.push(line);
  };
  say(
    `probe cost: whole probes (features, ${c.epochs} head epochs x 3 replicates, phase 3, AFCC), filterscope (${c.backend} heads, frozen pass ${fsVgg6?.frozenPath ?? '?'}) vs PyTorch ${ptVgg6?.torch ?? ''} on the same machine (${process.env.BENCH_NOTE ?? 'CPU shared with other processes'})`,
  );
  say(`${c.fashion}; ${c.vgg16}`);
  say();
  say(
    row([
      'probe',
      'features s',
      'heads s',
      'phase 3 s',
      'AFCC s',
      'wall s',
      'peak RSS GiB',
      'features kept',
    ]),
  );
  say(row(['---', '---', '---', '---', '---', '---', '---', '---']));
  const line = (name: string, m: Measured | undefined): void => {
    if (m)
      say(
        row([
          name,
          s(m.featuresSeconds),
          s(m.headsSeconds),
          s(m.phase3Seconds),
          s(m.afccSeconds),
          s(m.wallSeconds),
          gib(m.peakRssBytes),
          m.featureStore ?? 'memory float16',
        ]),
      );
  };
  line('VGG-6 Fashion, filterscope', fsVgg6);
  line('VGG-6 Fashion, PyTorch', ptVgg6);
  line('VGG-6 Fashion, filterscope, 1 replicate', single);
  line('VGG-16 procedural, filterscope', fsVgg16);
  line('VGG-16 procedural, PyTorch', ptVgg16);
  say();
  const ratio = (a?: Measured, b?: Measured): string =>
    a && b ? (a.wallSeconds / b.wallSeconds).toFixed(2) : 'n/a';
  say(
    `ratio filterscope/PyTorch: VGG-6 ${ratio(fsVgg6, ptVgg6)}, VGG-16 ${ratio(fsVgg16, ptVgg16)}`,
  );
  if (fsVgg16)
    say(
      `peak resident set of filterscope's VGG-16 probe: ${gib(fsVgg16.peakRssBytes)} GiB (target < 4 GiB)`,
    );
  if (fsVgg6) {
    say();
    say('spread over 3 replicates, Fashion-MNIST VGG-6 (filterscope): mean and sample std');
    say(row(['layer', 'SR(l)', 'SR std (points)', 'layer SNR', 'SNR std / mean', 'PyTorch SR(l)']));
    say(row(['---', '---', '---', '---', '---', '---']));
    fsVgg6.layers!.forEach((layer, l) => {
      const snr = fsVgg6.snr![l];
      const snrStd = fsVgg6.snrStd![l];
      say(
        row([
          layer,
          fsVgg6.successRate[l]!.toFixed(4),
          (100 * fsVgg6.successRateStd[l]!).toFixed(2),
          snr == null ? 'n/a' : snr.toFixed(3),
          snr == null || snrStd == null ? 'n/a' : `${((100 * snrStd) / Math.abs(snr)).toFixed(1)}%`,
          ptVgg6 ? ptVgg6.successRate[l]!.toFixed(4) : 'n/a',
        ]),
      );
    });
  }
  if (fsVgg6 && single)
    say(
      `replicates' cost: heads ${s(fsVgg6.headsSeconds)} s with 3 per layer vs ${s(single.headsSeconds)} s with 1 (x${(fsVgg6.headsSeconds / single.headsSeconds).toFixed(2)}); whole probe ${s(fsVgg6.wallSeconds)} s vs ${s(single.wallSeconds)} s (x${(fsVgg6.wallSeconds / single.wallSeconds).toFixed(2)})`,
    );
  if (fsVgg6 && ptVgg6 && fsVgg16 && ptVgg16) {
    const ours = fsVgg6.wallSeconds + fsVgg16.wallSeconds;
    const theirs = ptVgg6.wallSeconds + ptVgg16.wallSeconds;
    say(`probe wall-time ratio filterscope/PyTorch: ${(ours / theirs).toFixed(2)}`);
  }
  return lines;
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') return child(process.argv[3]!);
  const trainCount = flag('train', 12_000);
  const testCount = flag('test', 10_000);
  const epochs = flag('epochs', 5);
  const vggImages = flag('vgg16-images', 10_000);
  const fitExamples = flag('fit-examples', 6_000);
  const backend = await initBackend((process.env.FILTERSCOPE_BACKEND as never) ?? 'auto');
  const work = mkdtempSync(join(tmpdir(), 'filterscope-bench-probe-'));
  const options: ProbeOptions = { headEpochs: epochs };
  try {
    process.stderr.write('preparing Fashion-MNIST VGG-6 (a short training)...\n');
    const fashion = loadDataset('fashion-mnist', {
      roots: dataRoots(process.env.FILTERSCOPE_DATA),
      maxTrain: trainCount,
      maxTest: testCount,
    });
    const vgg6Spec = vgg6('VGG-6/28x28x1', [28, 28, 1], 10);
    const fitStart = performance.now();
    const vgg6Checkpoint = await checkpointOf(vgg6Spec, fashion, fitExamples);
    const fitSeconds = (performance.now() - fitStart) / 1000;
    writeJob(join(work, 'vgg6'), vgg6Spec, vgg6Checkpoint, fashion, options);
    writeJob(join(work, 'vgg6-single'), vgg6Spec, vgg6Checkpoint, fashion, {
      ...options,
      replicates: 1,
    });
    process.stderr.write('preparing VGG-16 on procedural images...\n');
    const vggTrain = Math.round(vggImages * 0.8);
    const procedural = generateProcedural({
      imageSize: 32,
      channels: 3,
      labels: 10,
      trainSize: vggTrain,
      testSize: vggImages - vggTrain,
      seed: 16,
    });
    const vgg16Spec = vgg16('VGG-16/32x32x3', [32, 32, 3], 10);
    writeJob(
      join(work, 'vgg16'),
      vgg16Spec,
      await checkpointOf(vgg16Spec, procedural, 64),
      procedural,
      options,
    );

    const context: Context = {
      epochs,
      backend: backend.name,
      fashion: `VGG-6 28x28x1 on Fashion-MNIST, ${fashion.train.count} train / ${fashion.test.count} test (checkpoint: 1 epoch on ${fitExamples} images, ${s(fitSeconds)} s, not counted)`,
      vgg16: `VGG-16 32x32x3 on ${procedural.train.count} / ${procedural.test.count} procedural images (weights after one training step)`,
    };
    // Each probe's numbers as soon as it ends (stderr): a run cut short still says what it measured.
    const results: Results = {};
    const step = (key: keyof Results, name: string, measure: () => Measured): void => {
      process.stderr.write(`${name}...\n`);
      results[key] = measure();
      process.stderr.write(`${report(results, context).join('\n')}\n`);
    };
    step('fsVgg6', 'VGG-6 through filterscope', () => filterscopeProbe(join(work, 'vgg6')));
    step('ptVgg6', 'VGG-6 through PyTorch', () => torchProbe(join(work, 'vgg6')));
    step('fsVgg16', 'VGG-16 through filterscope', () => filterscopeProbe(join(work, 'vgg16')));
    step('ptVgg16', 'VGG-16 through PyTorch', () => torchProbe(join(work, 'vgg16')));
    if (!process.argv.includes('--no-single'))
      step('single', 'VGG-6 through filterscope, 1 replicate', () =>
        filterscopeProbe(join(work, 'vgg6-single')),
      );
    console.log(report(results, context).join('\n'));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

void main();
