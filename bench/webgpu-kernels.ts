import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import type { ArchitectureSpec } from '../src/architecture/index.js';
import { vgg6 } from '../src/architecture/index.js';
import { Random } from '../src/data/random.js';
import { initBackend } from '../src/engine/backend.js';
import {
  registerWebgpuTrainingKernels,
  unregisterWebgpuTrainingKernels,
} from '../src/engine/kernels/webgpu/index.js';
import { buildModel, modelVariables } from '../src/engine/model.js';
import { SgdOptimizer } from '../src/engine/optimizer.js';
import { crossEntropy } from '../src/engine/train-step.js';

/**
 * `npm run bench:webgpu`: filterscope's webgpu kernels against tfjs-backend-webgpu's stock
 * ones, in one run, alternating so that drift of a shared machine hits both alike.
 *
 *   npm run bench:webgpu                       the software adapter (Mesa llvmpipe), small shapes
 *   npm run bench:webgpu -- --hardware         a hardware adapter, VGG-16 shapes at batch 128
 * Options: --repeats N (timed calls per measurement, default 5), --rounds R (default 2; the best
 * round counts), --batch N (default 8 on software, 128 on hardware).
 *
 * Each measurement runs the kernel `repeats` times and then waits for the GPU by reading one
 * value of the last result, so the time per call includes the GPU work, not only the enqueueing.
 */

interface Case {
  readonly name: string;
  /** Builds the inputs once; `run` is timed. */
  setup(): { run: () => tf.Tensor; dispose: () => void };
}

function normal(rng: Random, shape: readonly number[]): tf.Tensor {
  const values = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () =>
    rng.normal(),
  );
  return tf.tensor(values, [...shape]);
}

/** `Conv2DBackpropFilter` of a 3x3 same convolution of x `[n, h, w, c]` to `filters`. */
function backpropFilter(n: number, h: number, c: number, filters: number): Case {
  return {
    name: `Conv2DBackpropFilter x [${n},${h},${h},${c}] -> 3x3x${c}x${filters}`,
    setup() {
      const rng = new Random(1);
      const x = normal(rng, [n, h, h, c]);
      const dy = normal(rng, [n, h, h, filters]);
      return {
        run: () =>
          tf
            .engine()
            .runKernel(
              tf.Conv2DBackpropFilter,
              { x, dy },
              { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, c, filters] },
            ) as tf.Tensor,
        dispose: () => tf.dispose([x, dy]),
      };
    },
  };
}

/** `Sum` over [batch, h, w] of `[n, h, w, c]`, as a batch-norm statistic or bias gradient. */
function sumLeading(n: number, h: number, c: number): Case {
  return {
    name: `Sum [${n},${h},${h},${c}] over [0,1,2]`,
    setup() {
      const x = normal(new Random(2), [n, h, h, c]);
      return { run: () => tf.sum(x, [0, 1, 2]), dispose: () => x.dispose() };
    },
  };
}

/** One SGD step of `spec` (the engine's model, loss and optimizer), the loss as result. */
function trainingStep(spec: ArchitectureSpec, batch: number): Case {
  return {
    name: `training step ${spec.name}, batch ${batch}`,
    setup() {
      const rng = new Random(3);
      const model = buildModel(spec, 1);
      const trainable = modelVariables(model).filter((v) => v.trainable);
      const optimizer = new SgdOptimizer(trainable, {
        momentum: 0.9,
        weightDecay: 5e-4,
        nesterov: false,
      });
      const x = normal(rng, [batch, ...spec.inputShape]);
      const labels = tf.tensor1d(
        Int32Array.from({ length: batch }, () => rng.int(spec.labels)),
        'int32',
      );
      return {
        run: () =>
          tf.tidy(() => {
            const { value, grads } = tf.variableGrads(
              () => crossEntropy(model.apply(x, { training: true }) as tf.Tensor2D, labels),
              trainable.map((v) => v.variable),
            );
            optimizer.step(
              new Map(trainable.map((v) => [v.name, grads[v.variable.name] as tf.Tensor])),
              0.01,
            );
            return value;
          }),
        dispose: () => {
          optimizer.dispose();
          model.dispose();
          tf.dispose([x, labels]);
        },
      };
    },
  };
}

/** Milliseconds per call of `run`, `repeats` calls, after one untimed call. */
async function time(run: () => tf.Tensor, repeats: number): Promise<number> {
  const warm = run();
  await warm.data();
  warm.dispose();
  const start = performance.now();
  let last: tf.Tensor | null = null;
  for (let i = 0; i < repeats; i++) {
    last?.dispose();
    last = run();
  }
  // Reading waits for every submitted command: the GPU has then done all of them.
  await last?.data();
  const ms = (performance.now() - start) / repeats;
  last?.dispose();
  return ms;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      hardware: { type: 'boolean', default: false },
      repeats: { type: 'string', default: '5' },
      rounds: { type: 'string', default: '2' },
      batch: { type: 'string' },
    },
  });
  const hardware = values.hardware === true;
  const repeats = Number(values.repeats);
  const rounds = Number(values.rounds);
  const batch = Number(values.batch ?? (hardware ? 128 : 8));
  if (!(repeats >= 1 && rounds >= 1 && batch >= 1))
    throw new Error('bad --repeats/--rounds/--batch');
  const info = await initBackend('webgpu', undefined, { allowSoftware: !hardware });
  console.log(`backend ${info.name}: ${info.device}`);

  // Software: VGG shapes scaled down (llvmpipe runs on the CPU); hardware: VGG-16 at 32x32x3.
  const cases: Case[] = hardware
    ? [
        backpropFilter(batch, 32, 3, 64),
        backpropFilter(batch, 32, 64, 64),
        backpropFilter(batch, 16, 128, 128),
        backpropFilter(batch, 8, 256, 256),
        backpropFilter(batch, 4, 512, 512),
        backpropFilter(batch, 2, 512, 512),
        sumLeading(batch, 32, 64),
        sumLeading(batch, 8, 256),
        trainingStep(vgg6('VGG-6 32x32x3', [32, 32, 3], 10), batch),
      ]
    : [
        backpropFilter(batch, 16, 3, 32),
        backpropFilter(batch, 16, 32, 32),
        backpropFilter(batch, 8, 64, 64),
        backpropFilter(batch, 4, 128, 128),
        sumLeading(batch, 16, 32),
        sumLeading(batch, 8, 64),
        trainingStep(vgg6('VGG-6 16x16x3', [16, 16, 3], 10), batch),
      ];

  const rows: { name: string; stock: number; ours: number }[] = [];
  for (const c of cases) {
    const { run, dispose } = c.setup();
    let stock = Infinity;
    let ours = Infinity;
    try {
      for (let r = 0; r < rounds; r++) {
        unregisterWebgpuTrainingKernels();
        stock = Math.min(stock, await time(run, repeats));
        registerWebgpuTrainingKernels();
        ours = Math.min(ours, await time(run, repeats));
      }
    } finally {
      registerWebgpuTrainingKernels();
      dispose();
    }
    rows.push({ name: c.name, stock, ours });
    console.log(`  ${c.name}: stock ${stock.toFixed(2)} ms, filterscope ${ours.toFixed(2)} ms`);
  }

  const width = Math.max(...rows.map((r) => r.name.length));
  const line = (a: string, b: string, c: string, d: string) =>
    `| ${a.padEnd(width)} | ${b.padStart(9)} | ${c.padStart(11)} | ${d.padStart(7)} |`;
  console.log(`\nms per call, best of ${rounds} rounds of ${repeats} calls; ${info.device}\n`);
  console.log(line('kernel', 'stock ms', 'filterscope', 'speedup'));
  console.log(line('-'.repeat(width), '-'.repeat(9), '-'.repeat(11), '-'.repeat(7)));
  for (const r of rows) {
    console.log(
      line(r.name, r.stock.toFixed(2), r.ours.toFixed(2), `${(r.stock / r.ours).toFixed(2)}x`),
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
