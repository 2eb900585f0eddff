import * as tf from '@tensorflow/tfjs';
import type { ArchitectureSpec } from '../../../src/architecture/index.js';
import type { LoadedDataset } from '../../../src/data/types.js';
import { DatasetFileError } from '../../../src/data/idx.js';
import type { BackendInfo } from '../../../src/engine/backend.js';
import { decodeCheckpoint } from '../../../src/contract/checkpoint.js';
import type { EnginePort } from '../../../src/engine/port.js';
import { startEngineWorker } from '../../../src/engine/port.js';
import type {
  InboundMessage,
  OutboundMessage,
  TrainJobSpec,
} from '../../../src/contract/protocol.js';
import { MessageType, validateOutbound } from '../../../src/contract/protocol.js';
import { loadDataset } from '../../../src/data/load.js';
import { planProbe, type ProbeOptions } from '../../../src/contract/probe-options.js';
import { resolveHyperparameters } from '../../../src/contract/hyperparameters.js';
import { generateProcedural } from '../../../src/data/procedural.js';
import type { EngineDependencies } from '../../../src/engine/worker.js';
import { loadOptionsFor, serveEngine } from '../../../src/engine/worker.js';

/** Hyperparameters as the API resolves them for this test's 8x8 grey data. */
function hp(input: Record<string, unknown>) {
  return resolveHyperparameters(input, { inputShape: [8, 8, 1] });
}

const NET: ArchitectureSpec = {
  name: 'worker test net',
  inputShape: [8, 8, 1],
  labels: 3,
  blocks: [{ kind: 'conv', filters: 2 }, { kind: 'maxPool' }, { kind: 'maxPool' }],
};
const JOB: TrainJobSpec = {
  architecture: NET,
  dataset: {
    name: 'procedural',
    options: { imageSize: 8, channels: 1, labels: 3, trainSize: 12, testSize: 6 },
  },
  hyperparameters: hp({ epochs: 2, batchSize: 6 }),
};
/** Message types in order, without the time-based `step` messages. */
const types = (messages: OutboundMessage[]) =>
  messages.map((m) => m.type).filter((t) => t !== MessageType.Step);
const TERMINAL = new Set<string>([
  MessageType.Finished,
  MessageType.ProbeFinished,
  MessageType.Failed,
  MessageType.Cancelled,
]);

function dataset(count: number): LoadedDataset {
  const split = {
    images: Uint8Array.from({ length: count * 64 }, (_, i) => (i * 37) % 256),
    labels: Int32Array.from({ length: count }, (_, i) => i % 3),
    count,
  };
  return {
    name: 'procedural',
    inputShape: [8, 8, 1],
    labelNames: ['a', 'b', 'c'],
    train: split,
    test: split,
  };
}

const CPU: BackendInfo = { name: 'cpu', device: 'CPU (test)', threads: 1, skipped: [] };
const fakes = (overrides: Partial<EngineDependencies> = {}): EngineDependencies => ({
  initBackend: async () => {
    await tf.setBackend('cpu');
    return CPU;
  },
  loadDataset: () => dataset(12),
  ...overrides,
});

/** An in-memory port: `send` plays the runner; `posted` is what the engine said. */
function memoryPort(onPost?: (m: OutboundMessage, send: (m: InboundMessage) => void) => void) {
  const listeners = new Set<(m: InboundMessage) => void>();
  const posted: OutboundMessage[] = [];
  const send = (m: InboundMessage) => listeners.forEach((l) => l(m));
  const port: EnginePort = {
    post: (m) => {
      posted.push(validateOutbound(m));
      onPost?.(m, send);
    },
    onMessage: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
  return { port, posted, send, listening: () => listeners.size };
}

beforeAll(() => tf.env().set('IS_TEST', true));

/** JOB run in this thread with the real procedural loader, once, for the tests that need it. */
let inProcess: Promise<{ posted: OutboundMessage[]; listening: () => number }> | null = null;
const runInProcess = () =>
  (inProcess ??= (async () => {
    const { port, posted, send, listening } = memoryPort();
    const served = serveEngine(port, 'cpu', fakes({ loadDataset }));
    send({ type: MessageType.Start, job: JOB, resumeFrom: null });
    await served;
    return { posted, listening };
  })());

const checkpoints = (messages: OutboundMessage[]) =>
  messages.flatMap((m) => (m.type === MessageType.Checkpoint ? [m.bytes] : []));

describe('serveEngine', () => {
  it('runs one job from start to finished, then stops listening', async () => {
    const { posted, listening } = await runInProcess();
    expect(types(posted)).toEqual([
      'started',
      'epoch',
      'checkpoint',
      'epoch',
      'checkpoint',
      'finished',
    ]);
    expect(posted[0]).toMatchObject({ backend: 'cpu', device: 'CPU (test)', threads: 1 });
    expect(listening()).toBe(0);
  });

  it('loads the dataset with the data folders, procedural options and training caps', () => {
    const start = {
      type: MessageType.Start,
      job: { ...JOB, hyperparameters: hp({ maxTrainExamples: 5 }) },
      resumeFrom: null,
    } as const;
    expect(loadOptionsFor(start, '/a:/b')).toEqual({
      roots: ['/a', '/b', '/usr/share/datasets'],
      maxTrain: 5,
      // JOB names no generator version, like a run stored before versions existed.
      procedural: { ...JOB.dataset.options, generatorVersion: 1 },
    });
    const testCapped = {
      ...start,
      job: { ...JOB, hyperparameters: hp({ maxTrainExamples: 5, maxTestExamples: 3 }) },
    };
    expect(loadOptionsFor(testCapped, undefined)).toMatchObject({ maxTrain: 5, maxTest: 3 });
    const cifar = {
      ...start,
      job: {
        ...start.job,
        dataset: { name: 'cifar-100', options: { cifar100Labels: 'coarse' as const } },
      },
    };
    expect(loadOptionsFor(cifar, undefined)).toEqual({
      roots: ['/usr/share/datasets'],
      maxTrain: 5,
      cifar100Labels: 'coarse',
    });
  });

  it("loads a probe's dataset with its training and test caps", () => {
    const message = {
      type: MessageType.Probe,
      job: {
        architecture: NET,
        dataset: JOB.dataset,
        plan: planProbe({ maxTrainExamples: 7, maxTestExamples: 4 }, { spec: NET }),
      },
      checkpoint: new Uint8Array(4),
    } as const;
    expect(loadOptionsFor(message, '/a')).toEqual({
      roots: ['/a', '/usr/share/datasets'],
      maxTrain: 7,
      maxTest: 4,
      procedural: { ...JOB.dataset.options, generatorVersion: 1 },
    });
    expect(
      loadOptionsFor(
        { ...message, job: { ...message.job, plan: planProbe({}, { spec: NET }) } },
        '/a',
      ),
    ).toEqual({
      roots: ['/a', '/usr/share/datasets'],
      procedural: { ...JOB.dataset.options, generatorVersion: 1 },
    });
  });

  it('regenerates the procedural images a run was made with: version 1 when it names none', () => {
    const start = (options: Record<string, unknown>) =>
      ({
        type: MessageType.Start,
        job: { ...JOB, dataset: { name: 'procedural', options } },
        resumeFrom: null,
      }) as const;
    const sized = { imageSize: 16, labels: 4, trainSize: 20, testSize: 10 };
    const images = (options: Record<string, unknown>) =>
      loadDataset('procedural', loadOptionsFor(start(options), undefined)).train.images;
    const v1 = generateProcedural({ ...sized, generatorVersion: 1 }).train.images;
    const v2 = generateProcedural({ ...sized, generatorVersion: 2 }).train.images;
    expect(Buffer.compare(v1, v2)).not.toBe(0);
    expect(images(sized)).toEqual(v1);
    expect(images({ ...sized, generatorVersion: 1 })).toEqual(v1);
    expect(images({ ...sized, generatorVersion: 2 })).toEqual(v2);
  });

  it('cancels between batches on a cancel message', async () => {
    const { port, posted, send } = memoryPort((m, reply) => {
      if (m.type === MessageType.Started) reply({ type: MessageType.Cancel });
    });
    const served = serveEngine(port, 'cpu', fakes());
    send({ type: MessageType.Start, job: JOB, resumeFrom: null });
    await served;
    expect(types(posted)).toEqual(['started', 'cancelled']);
  });

  it.each([
    [
      'a bad FILTERSCOPE_BACKEND',
      'gpu',
      fakes(),
      'FILTERSCOPE_BACKEND must be one of auto, tensorflow-gpu, webgpu, tensorflow, wasm, cpu, got "gpu"',
      false,
    ],
    [
      'a dataset that cannot load for another reason',
      'cpu',
      fakes({
        loadDataset: () => {
          throw new Error('out of memory reading /data/cifar');
        },
      }),
      'out of memory reading /data/cifar',
      false,
    ],
    [
      'a corrupt dataset file (permanent: no retry)',
      'cpu',
      fakes({
        loadDataset: () => {
          throw new DatasetFileError('/data/x.idx', 4, '60000 images', 'the end of the file');
        },
      }),
      expect.stringContaining('/data/x.idx'),
      true,
    ],
  ])('reports %s as failed', async (_, backend, deps, error, permanent) => {
    const { port, posted, send } = memoryPort();
    const served = serveEngine(port, backend, deps);
    send({ type: MessageType.Start, job: JOB, resumeFrom: null });
    await served;
    expect(posted).toEqual([{ type: 'failed', error, stack: expect.any(String), permanent }]);
  });
});

describe('startEngineWorker (a real worker thread)', () => {
  it('trains the procedural dataset end to end and transfers checkpoints', async () => {
    const engine = startEngineWorker({ backend: 'cpu' });
    try {
      const messages: OutboundMessage[] = [];
      const done = new Promise<void>((resolve) => {
        engine.onMessage((m) => {
          messages.push(m);
          if (TERMINAL.has(m.type)) resolve();
        });
      });
      engine.post({ type: MessageType.Start, job: JOB, resumeFrom: null });
      await done;
      expect(types(messages)).toEqual([
        'started',
        'epoch',
        'checkpoint',
        'epoch',
        'checkpoint',
        'finished',
      ]);
      expect(messages[0]).toMatchObject({ backend: 'cpu', trainExamples: 12, testExamples: 6 });
      const last = checkpoints(messages)[1] ?? new Uint8Array();
      expect(decodeCheckpoint(last).weights.map((w) => w.name)).toContain('conv1_bn/moving_mean');
      // The thread ends by itself after a terminal message.
      expect(await engine.exited).toBe(0);
    } finally {
      await engine.dispose();
    }
  });

  it('resumes in a fresh thread from an epoch-1 checkpoint made here, ending bit-identical', async () => {
    const reference = checkpoints((await runInProcess()).posted);
    const engine = startEngineWorker({ backend: 'cpu' });
    try {
      const messages: OutboundMessage[] = [];
      const done = new Promise<void>((resolve) =>
        engine.onMessage((m) => {
          messages.push(m);
          if (TERMINAL.has(m.type)) resolve();
        }),
      );
      // A copy: the original stays readable after the transfer to the thread.
      engine.post({ type: MessageType.Start, job: JOB, resumeFrom: reference[0]?.slice() ?? null });
      await done;
      expect(types(messages)).toEqual(['started', 'epoch', 'checkpoint', 'finished']);
      const theirs = decodeCheckpoint(checkpoints(messages)[0] ?? new Uint8Array());
      const ours = decodeCheckpoint(reference[1] ?? new Uint8Array());
      const bits = (c: typeof ours) =>
        [...c.weights, ...c.momentum].map((t) => [
          t.name,
          Array.from(new Uint32Array(t.values.slice().buffer)),
        ]);
      expect(theirs.epoch).toBe(2);
      expect(bits(theirs)).toEqual(bits(ours));
      expect(theirs.rngState).toBe(ours.rngState);
    } finally {
      await engine.dispose();
    }
  });

  it('is stopped by dispose() mid-run without a spurious failed message', async () => {
    const engine = startEngineWorker({ backend: 'cpu' });
    const messages: OutboundMessage[] = [];
    const started = new Promise<void>((resolve) =>
      engine.onMessage((m) => {
        messages.push(m);
        if (m.type === MessageType.Started) resolve();
      }),
    );
    engine.post({
      type: MessageType.Start,
      job: { ...JOB, hyperparameters: hp({ epochs: 50 }) },
      resumeFrom: null,
    });
    await started;
    await engine.dispose();
    await engine.dispose();
    expect(messages.map((m) => m.type)).not.toContain('failed');
  });

  /** Probes the last checkpoint of JOB (trained here) in a fresh thread, with these options. */
  async function probeInThread(
    options: ProbeOptions,
    cancelOn?: (m: OutboundMessage) => boolean,
    env: Record<string, string> = {},
  ) {
    const reference = checkpoints((await runInProcess()).posted);
    const engine = startEngineWorker({ backend: 'cpu', env });
    try {
      const messages: OutboundMessage[] = [];
      const done = new Promise<void>((resolve) =>
        engine.onMessage((m) => {
          messages.push(m);
          if (cancelOn?.(m)) engine.post({ type: MessageType.Cancel });
          if (TERMINAL.has(m.type)) resolve();
        }),
      );
      const checkpoint = reference[1]?.slice() ?? new Uint8Array();
      engine.post({
        type: MessageType.Probe,
        job: { architecture: NET, dataset: JOB.dataset, plan: planProbe(options, { spec: NET }) },
        checkpoint,
      });
      await done;
      return { messages, exitCode: await engine.exited };
    } finally {
      await engine.dispose();
    }
  }
  const eventTypes = (messages: OutboundMessage[]) =>
    messages.map((m) => (m.type === MessageType.ProbeEvent ? m.event.type : m.type));

  it('probes a checkpoint: every probe() event in order, then probeFinished', async () => {
    const { messages, exitCode } = await probeInThread({ headEpochs: 2, batchSize: 6 });
    // The frozen pass's progress comes during the first head epoch, before its end.
    expect(eventTypes(messages).filter((t) => t !== 'features')).toEqual([
      'started',
      'headEpoch',
      'headEpoch',
      'layerSR',
      'filters',
      'layerDone',
      'probeFinished',
    ]);
    expect(eventTypes(messages).indexOf('features')).toBe(1);
    const first = messages[0];
    expect(first?.type === MessageType.ProbeEvent && first.event).toMatchObject({
      type: 'started',
      trainExamples: 12,
      testExamples: 6,
      backend: 'cpu',
    });
    expect(messages.at(-1)).toEqual({
      type: MessageType.ProbeFinished,
      forwardCalls: expect.any(Number),
      wallSeconds: expect.any(Number),
      layers: [{ layer: 'conv1', successRate: expect.any(Number) }],
      // auto: the backend is no GPU and onnxruntime-node loads in the engine thread.
      timings: expect.objectContaining({ frozenPath: 'onnxruntime', featureStore: 'memory' }),
    });
    expect(exitCode).toBe(0);
  });

  it('runs the frozen pass on the backend when FILTERSCOPE_FROZEN_RUNTIME=tfjs, and refuses a bad value', async () => {
    const forced = await probeInThread({ headEpochs: 1, batchSize: 6 }, undefined, {
      FILTERSCOPE_FROZEN_RUNTIME: 'tfjs',
    });
    expect(forced.messages.at(-1)).toMatchObject({
      type: MessageType.ProbeFinished,
      timings: expect.objectContaining({ frozenPath: 'cpu' }),
    });
    const bad = await probeInThread({ headEpochs: 1, batchSize: 6 }, undefined, {
      FILTERSCOPE_FROZEN_RUNTIME: 'tensorrt',
    });
    expect(bad.messages.at(-1)).toMatchObject({
      type: MessageType.Failed,
      error: expect.stringContaining(
        'FILTERSCOPE_FROZEN_RUNTIME must be one of auto, onnxruntime, tfjs, got "tensorrt"',
      ),
    });
  });

  it('cancels a probe mid-run: cancelled with epoch 0', async () => {
    const { messages } = await probeInThread(
      { headEpochs: 1000, batchSize: 1 },
      (m) => m.type === MessageType.ProbeEvent && m.event.type === 'started',
    );
    expect(eventTypes(messages)[0]).toBe('started');
    expect(messages.at(-1)).toEqual({ type: MessageType.Cancelled, epoch: 0 });
    expect(eventTypes(messages)).not.toContain('layerSR');
  });
});
