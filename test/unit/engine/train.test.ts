import * as tf from '@tensorflow/tfjs';
import type { ArchitectureSpec } from '../../../src/architecture/index.js';
import { Random } from '../../../src/data/random.js';
import type { LoadedDataset } from '../../../src/data/types.js';
import { decodeCheckpoint } from '../../../src/contract/checkpoint.js';
import { SgdOptimizer, sgdUpdate } from '../../../src/engine/optimizer.js';
import type { EnginePort } from '../../../src/engine/port.js';
import type { OutboundMessage, TrainJobSpec } from '../../../src/contract/protocol.js';
import { MessageType, validateOutbound } from '../../../src/contract/protocol.js';
import { learningRateAt } from '../../../src/contract/schedule.js';
import { resolveHyperparameters } from '../../../src/contract/hyperparameters.js';
import { train } from '../../../src/engine/train.js';

/** A tiny net with every stateful part: batch norm, dropout, dense layers. */
const NET: ArchitectureSpec = {
  name: 'tiny',
  inputShape: [4, 4, 3],
  labels: 3,
  blocks: [
    { kind: 'conv', filters: 4 },
    { kind: 'maxPool' },
    { kind: 'conv', filters: 4 },
    { kind: 'flatten' },
    { kind: 'dropout', rate: 0.3 },
    { kind: 'dense', units: 8 },
  ],
};

/** Label k: channel k brighter on average, with noise; learnable in a few epochs. */
function dataset(train: number, test: number, seed = 1): LoadedDataset {
  const rng = new Random(seed);
  const split = (count: number) => {
    const images = new Uint8Array(count * 4 * 4 * 3);
    const labels = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      const label = rng.int(3);
      labels[i] = label;
      for (let p = 0; p < 16; p++) {
        for (let c = 0; c < 3; c++) {
          images[(i * 16 + p) * 3 + c] = Math.floor(rng.uniform(0, 150) + (c === label ? 100 : 0));
        }
      }
    }
    return { images, labels, count };
  };
  return {
    name: 'synthetic',
    inputShape: [4, 4, 3],
    labelNames: ['r', 'g', 'b'],
    train: split(train),
    test: split(test),
  };
}

const DATA = dataset(32, 8);
const JOB: TrainJobSpec = {
  architecture: NET,
  dataset: { name: 'synthetic' },
  hyperparameters: resolveHyperparameters(
    { epochs: 3, batchSize: 16, seed: 5, nesterov: true },
    { inputShape: [4, 4, 3] },
  ),
};

/** A port that records (and validates) every message; `onPost` may react, e.g. cancel. */
function recorder(
  onPost?: (m: OutboundMessage) => void,
): EnginePort & { messages: OutboundMessage[] } {
  const messages: OutboundMessage[] = [];
  return {
    messages,
    post(message) {
      messages.push(validateOutbound(message));
      onPost?.(message);
    },
    onMessage: () => () => undefined,
  };
}

const of = <T extends OutboundMessage['type']>(messages: OutboundMessage[], type: T) =>
  messages.filter((m): m is Extract<OutboundMessage, { type: T }> => m.type === type);

beforeAll(async () => {
  tf.env().set('IS_TEST', true);
  await tf.setBackend('cpu');
});

describe('SGD (PyTorch semantics)', () => {
  it.each([
    // w = 1, lr = 0.1, momentum 0.9, weight decay 0.1; gradients 0.5 then 0.2.
    // plain:    d1 = 0.6, v1 = 0.6, w1 = 0.94;   d2 = 0.294, v2 = 0.834, w2 = 0.8566
    // nesterov: w1 = 1 - 0.1 * (0.6 + 0.54) = 0.886;
    //           d2 = 0.2886, v2 = 0.8286, w2 = 0.886 - 0.1 * (0.2886 + 0.74574) = 0.782566
    [false, 0.94, 0.8566, 0.834],
    [true, 0.886, 0.782566, 0.8286],
  ])('nesterov=%s: two steps match the hand-computed update', (nesterov, w1, w2, v2) => {
    const before = tf.memory().numTensors;
    const w = tf.tidy(() => tf.variable(tf.tensor1d([1, -1])));
    const sgd = new SgdOptimizer([{ name: 'w', variable: w }], {
      momentum: 0.9,
      weightDecay: 0.1,
      nesterov,
    });
    const step = (g: number) => {
      const grad = tf.tensor1d([g, -g]);
      sgd.step(new Map([['w', grad]]), 0.1);
      grad.dispose();
    };
    step(0.5);
    expect(w.dataSync()[0]).toBeCloseTo(w1, 6);
    expect(w.dataSync()[1]).toBeCloseTo(-w1, 6);
    step(0.2);
    expect(w.dataSync()[0]).toBeCloseTo(w2, 6);
    return sgd.getState().then((state) => {
      expect(state[0]?.values[0]).toBeCloseTo(v2, 6);
      sgd.dispose();
      w.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  });

  it('sgdUpdate without momentum or decay is plain gradient descent', () => {
    const out = tf.tidy(() => {
      const r = sgdUpdate(tf.scalar(2), tf.scalar(3), tf.scalar(0), 0.5, {
        momentum: 0,
        weightDecay: 0,
        nesterov: false,
      });
      return [r.weight.dataSync()[0], r.velocity.dataSync()[0]];
    });
    expect(out).toEqual([0.5, 3]);
  });
});

describe('train', () => {
  /** The reference run of JOB, made once by whichever test needs it first. */
  let reference: Promise<OutboundMessage[]> | null = null;
  const uninterruptedRun = (): Promise<OutboundMessage[]> => {
    reference ??= (async () => {
      const port = recorder();
      await train(JOB, DATA, port, { stepIntervalMs: 0 });
      return port.messages;
    })();
    return reference;
  };

  it('trains: started, a step per batch, epoch + checkpoint per epoch, finished; no tensor left', async () => {
    const before = tf.memory().numTensors;
    const messages = await uninterruptedRun();
    expect(tf.memory().numTensors).toBe(before);
    const port = { messages };
    const types = port.messages.map((m) => m.type);
    const epoch = ['step', 'step', 'epoch', 'checkpoint'];
    expect(types).toEqual(['started', ...epoch, ...epoch, ...epoch, 'finished']);
    const started = of(port.messages, MessageType.Started)[0];
    expect(started).toMatchObject({
      backend: 'cpu',
      trainExamples: 32,
      testExamples: 8,
      resumedFromEpoch: null,
    });
    const metrics = of(port.messages, MessageType.Epoch).map((m) => m.metrics);
    expect(metrics.map((m) => m.learningRate)).toEqual(
      [0, 1, 2].map((e) => learningRateAt({ kind: 'cosine' }, 0.05, e, 3)),
    );
    expect(of(port.messages, MessageType.Checkpoint).map((m) => m.epoch)).toEqual([1, 2, 3]);
    const finished = of(port.messages, MessageType.Finished)[0];
    expect(finished?.finalTestSR).toBe(metrics[2]?.testSR);
    expect(finished?.bestTestSR).toBe(Math.max(...metrics.map((m) => m.testSR)));
  });

  it('learns a separable task (loss falls, test SR well above chance)', async () => {
    const port = recorder();
    await train(
      { ...JOB, hyperparameters: { ...JOB.hyperparameters, epochs: 4, learningRate: 0.1 } },
      dataset(64, 30, 2),
      port,
      {},
    );
    const metrics = of(port.messages, MessageType.Epoch).map((m) => m.metrics);
    expect(metrics[3]?.trainLoss).toBeLessThan(metrics[0]?.trainLoss ?? 0);
    expect(metrics[3]?.testSR).toBeGreaterThan(0.7);
  });

  it('resumes from the checkpoint of epoch 1 with bit-identical final weights, momentum and RNG', async () => {
    // Run 1: stop right after the first checkpoint, as a runner that dies would.
    const controller = new AbortController();
    const first = recorder((m) => m.type === MessageType.Checkpoint && controller.abort());
    const stopped = await train(JOB, DATA, first, { signal: controller.signal });
    expect(stopped).toMatchObject({ status: 'cancelled', epochs: 1 });
    const checkpoint = of(first.messages, MessageType.Checkpoint)[0];
    expect(of(first.messages, MessageType.Cancelled)).toEqual([{ type: 'cancelled', epoch: 1 }]);

    // Run 2: fresh model and optimizer, state only from the checkpoint bytes.
    const before = tf.memory().numTensors;
    const second = recorder();
    const resumed = await train(JOB, DATA, second, { resumeFrom: checkpoint?.bytes ?? null });
    expect(tf.memory().numTensors).toBe(before);
    expect(resumed.status).toBe('finished');
    expect(of(second.messages, MessageType.Started)[0]?.resumedFromEpoch).toBe(1);
    expect(of(second.messages, MessageType.Epoch).map((m) => m.epoch)).toEqual([2, 3]);

    const last = (messages: OutboundMessage[]) => {
      const all = of(messages, MessageType.Checkpoint);
      return decodeCheckpoint(all[all.length - 1]?.bytes ?? new Uint8Array());
    };
    const a = last(await uninterruptedRun());
    const b = last(second.messages);
    expect(b.epoch).toBe(3);
    expect(b.rngState).toBe(a.rngState);
    const bits = (ts: typeof a.weights) =>
      ts.map((t) => [t.name, Array.from(new Uint32Array(t.values.slice().buffer))]);
    expect(bits(b.weights)).toEqual(bits(a.weights));
    expect(bits(b.momentum)).toEqual(bits(a.momentum));
    const strip = (ms: typeof a.meta.history) => ms.map(({ wallSeconds: _, ...rest }) => rest);
    expect(strip(b.meta.history)).toEqual(strip(a.meta.history));
  });

  it('refuses to resume a checkpoint of another job, naming what differs', async () => {
    const checkpoint = of(await uninterruptedRun(), MessageType.Checkpoint)[0];
    const other = { ...JOB, hyperparameters: { ...JOB.hyperparameters, seed: 6 } };
    await expect(
      train(other, DATA, recorder(), { resumeFrom: checkpoint?.bytes ?? null }),
    ).rejects.toThrow(
      /cannot resume: the checkpoint's hyperparameters differ from the job's .*"seed":5.*"seed":6/,
    );
  });

  it('stops between batches when cancelled, leaving no tensors', async () => {
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    const port = recorder((m) => m.type === MessageType.Step && controller.abort());
    const result = await train(JOB, DATA, port, { signal: controller.signal, stepIntervalMs: 0 });
    expect(result).toMatchObject({ status: 'cancelled', epochs: 0 });
    expect(port.messages.map((m) => m.type)).toEqual(['started', 'step', 'cancelled']);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rate-limits step messages to one per interval besides the last batch of each epoch', async () => {
    const port = recorder();
    await train({ ...JOB, hyperparameters: { ...JOB.hyperparameters, epochs: 2 } }, DATA, port, {
      stepIntervalMs: 60_000,
    });
    const steps = of(port.messages, MessageType.Step);
    expect(steps.map((m) => [m.epoch, m.batch === m.batches])).toEqual([
      [1, true],
      [2, true],
    ]);
  });

  it('checks the job as a start message, naming the field', async () => {
    const bad = { ...JOB, hyperparameters: { ...JOB.hyperparameters, batchSize: 0 } };
    await expect(train(bad, DATA, recorder())).rejects.toThrow(
      'start message: job.hyperparameters.batchSize must be an integer from 1 to 8192, got 0',
    );
  });

  it('refuses a dataset that does not fit the architecture', async () => {
    const wrong = { ...DATA, labelNames: ['a', 'b'] };
    await expect(train(JOB, wrong, recorder())).rejects.toThrow(
      'architecture tiny has 3 labels, dataset synthetic has 2',
    );
  });
});
