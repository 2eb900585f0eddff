import { vgg6 } from '../../../src/architecture/index.js';
import { resolveHyperparameters } from '../../../src/contract/hyperparameters.js';
import { planProbe } from '../../../src/contract/probe-options.js';
import {
  MessageType,
  ProtocolError,
  validateInbound,
  validateMessage,
  validateOutbound,
} from '../../../src/contract/protocol.js';

// Jobs carry what the API resolved when the run or probe was started.
const architecture = vgg6('v', [28, 28, 1], 10);
const hyperparameters = resolveHyperparameters(
  { epochs: 3, schedule: { kind: 'step', milestones: [1, 2] } },
  { inputShape: [28, 28, 1] },
);
const job = {
  architecture,
  dataset: { name: 'procedural', options: { imageSize: 28, channels: 1 } },
  hyperparameters,
};
const plan = planProbe(
  {
    layers: ['conv1', 'conv2'],
    headEpochs: 2,
    maxTestExamples: null,
    metrics: { threshold: 0.4, normalization: 'MAX' },
  },
  { spec: architecture },
);
const probeJob = { architecture, dataset: job.dataset, plan };
const withOptions = (options: Record<string, unknown>) => ({
  ...probeJob,
  plan: { ...plan, options: { ...plan.options, ...options } },
});
const probeFinished = {
  type: 'probeFinished',
  forwardCalls: 12,
  wallSeconds: 1.5,
  layers: [{ layer: 'conv1', successRate: 0.7 }],
  timings: {
    featuresSeconds: 1,
    headsSeconds: 0.3,
    phase3Seconds: 0.1,
    afccSeconds: 0.1,
    frozenPath: 'wasm',
    featureStore: 'memory',
    featureImagesPerSecond: 500,
  },
};
const metrics = {
  epoch: 2,
  trainLoss: 1.2,
  trainSR: 0.6,
  testLoss: 1.3,
  testSR: 0.55,
  learningRate: 0.025,
  wallSeconds: 3.5,
};

/** The ProtocolError thrown by validating `value`, or a failure if none is thrown. */
function rejection(value: unknown): ProtocolError {
  try {
    validateMessage(value);
  } catch (error) {
    if (error instanceof ProtocolError) return error;
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(value)}`);
}

describe('validateMessage', () => {
  it('accepts one valid message of every type', () => {
    const valid = [
      { type: 'start', job, resumeFrom: null },
      {
        type: 'start',
        job: { ...job, hyperparameters: resolveHyperparameters({}, { inputShape: [28, 28, 1] }) },
        resumeFrom: new Uint8Array(4),
      },
      { type: 'probe', job: probeJob, checkpoint: new Uint8Array(4) },
      {
        type: 'probe',
        job: { ...probeJob, plan: planProbe({}, { spec: architecture }) },
        checkpoint: new Uint8Array(4),
      },
      {
        type: 'evaluate',
        job: { architecture, dataset: job.dataset, maxTestExamples: null },
        checkpoint: new Uint8Array(4),
      },
      { type: 'cancel' },
      {
        type: 'started',
        backend: 'cpu',
        device: 'CPU',
        threads: 1,
        trainExamples: 100,
        testExamples: 20,
        resumedFromEpoch: null,
      },
      { type: 'step', epoch: 1, batch: 3, batches: 10, loss: 2.3 },
      { type: 'epoch', epoch: 2, metrics },
      { type: 'checkpoint', epoch: 2, bytes: new Uint8Array([1, 2]) },
      {
        type: 'finished',
        epochs: 3,
        finalTestSR: 0.5,
        finalTestLoss: 1.1,
        bestTestSR: 0.6,
        bestEpoch: 2,
        wallSeconds: 10,
      },
      // Only the envelope of an event is checked: its payload (filters) may be large.
      { type: 'probeEvent', event: { type: 'filters', layer: 'conv1', filters: [] } },
      { type: 'probeEvent', event: { type: 'layerDone', anything: [1, 2] } },
      probeFinished,
      { ...probeFinished, layers: [] },
      { type: 'evaluationStep', batch: 2, batches: 5 },
      { type: 'evaluated', testSR: 0.9, testLoss: 0.3, examples: 100, wallSeconds: 2 },
      { type: 'failed', error: 'boom', stack: null },
      { type: 'cancelled', epoch: 0 },
    ];
    const twice = new Set(['start', 'probe', 'probeEvent', 'probeFinished']);
    expect(valid.map((m) => validateMessage(m).type)).toEqual(
      Object.values(MessageType).flatMap((t) => (twice.has(t) ? [t, t] : [t])),
    );
  });

  const cases: [unknown, string, string, unknown, string][] = [
    [
      { type: 'step', epoch: 1, batch: 0, batches: 10, loss: 2 },
      'step',
      'batch',
      0,
      'step message: batch must be an integer from 1 to',
    ],
    [
      { type: 'step', epoch: 1, batch: 1, batches: 10, loss: NaN },
      'step',
      'loss',
      NaN,
      'step message: loss must be a finite number, got NaN',
    ],
    [
      { type: 'epoch', epoch: 2, metrics: { ...metrics, testSR: 1.5 } },
      'epoch',
      'metrics.testSR',
      1.5,
      'epoch message: metrics.testSR must be a finite number >= 0 and <= 1, got 1.5',
    ],
    [
      { type: 'epoch', epoch: 3, metrics },
      'epoch',
      'metrics.epoch',
      2,
      'epoch message: metrics.epoch must equal epoch 3, got 2',
    ],
    [
      { type: 'checkpoint', epoch: 1, bytes: [1, 2] },
      'checkpoint',
      'bytes',
      [1, 2],
      'checkpoint message: bytes must be a non-empty Uint8Array, got [1,2]',
    ],
    [
      { type: 'cancelled' },
      'cancelled',
      'epoch',
      undefined,
      'cancelled message: epoch is required, got undefined',
    ],
    [
      { type: 'cancel', now: true },
      'cancel',
      'now',
      true,
      'cancel message: now is not a field of this message, got true',
    ],
    [
      { type: 'failed', error: '', stack: null },
      'failed',
      'error',
      '',
      'failed message: error must be a non-empty string, got ""',
    ],
    [
      { type: 'start', job: { ...job, dataset: { name: 7 } }, resumeFrom: null },
      'start',
      'job.dataset.name',
      7,
      'start message: job.dataset.name must be a non-empty string, got 7',
    ],
    [
      {
        type: 'start',
        job: { ...job, hyperparameters: { ...hyperparameters, learningRate: -1 } },
        resumeFrom: null,
      },
      'start',
      'job.hyperparameters.learningRate',
      -1,
      'start message: job.hyperparameters.learningRate must be a finite number > 0 and <= 10, got -1',
    ],
    [
      {
        type: 'start',
        job: { ...job, hyperparameters: { ...hyperparameters, lr: 0.1 } },
        resumeFrom: null,
      },
      'start',
      'job.hyperparameters.lr',
      0.1,
      'not a field',
    ],
    [
      {
        type: 'start',
        job: {
          ...job,
          hyperparameters: {
            ...hyperparameters,
            epochs: 4,
            schedule: { kind: 'step', milestones: [4] },
          },
        },
        resumeFrom: null,
      },
      'start',
      'job.hyperparameters.schedule.milestones',
      [4],
      'must be strictly increasing integers from 1 to 3, got [4]',
    ],
    [
      {
        type: 'start',
        job: { ...job, hyperparameters: { ...hyperparameters, momentum: 0, nesterov: true } },
        resumeFrom: null,
      },
      'start',
      'job.hyperparameters.nesterov',
      true,
      'needs a momentum above 0',
    ],
    [
      {
        type: 'start',
        job: { ...job, hyperparameters: { ...hyperparameters, augmentation: 'mixup' } },
        resumeFrom: null,
      },
      'start',
      'job.hyperparameters.augmentation',
      'mixup',
      'must be one of cropFlip, none, got "mixup"',
    ],
    [
      {
        type: 'start',
        job: {
          ...job,
          architecture: { ...job.architecture, blocks: [{ kind: 'conv', filters: 0 }] },
        },
        resumeFrom: null,
      },
      'start',
      'job.architecture.blocks[0].filters',
      0,
      'must be an integer from 1 to 65536, got 0',
    ],
    [
      { type: 'probe', job: probeJob, checkpoint: null },
      'probe',
      'checkpoint',
      null,
      'probe message: checkpoint must be a non-empty Uint8Array, got null',
    ],
    [
      { type: 'probe', job: { ...probeJob, plan: undefined }, checkpoint: new Uint8Array(4) },
      'probe',
      'job.plan',
      undefined,
      'probe message: job.plan is required, got undefined',
    ],
    [
      {
        type: 'probe',
        job: withOptions({ headEpochs: 0 }),
        checkpoint: new Uint8Array(4),
      },
      'probe',
      'job.plan.options.headEpochs',
      0,
      'probe message: job.plan.options.headEpochs must be an integer from 1 to 1000, got 0',
    ],
    [
      {
        type: 'probe',
        job: withOptions({ layers: ['conv1', ''] }),
        checkpoint: new Uint8Array(4),
      },
      'probe',
      'job.plan.options.layers[1]',
      '',
      'must be a non-empty string, got ""',
    ],
    [
      {
        type: 'probe',
        job: withOptions({ metrics: { normalization: 'L2' } }),
        checkpoint: new Uint8Array(4),
      },
      'probe',
      'job.plan.options.metrics.normalization',
      'L2',
      'must be one of COLUMN_CENTERED, MAX, NONE, got "L2"',
    ],
    [
      {
        type: 'probe',
        job: withOptions({ epochs: 3 }),
        checkpoint: new Uint8Array(4),
      },
      'probe',
      'job.plan.options.epochs',
      3,
      'not a field',
    ],
    [
      { type: 'probe', job: { ...probeJob, hyperparameters: {} }, checkpoint: new Uint8Array(4) },
      'probe',
      'job.hyperparameters',
      {},
      'not a field',
    ],
    [
      { type: 'probeEvent', event: { type: 'progress' } },
      'probeEvent',
      'event.type',
      'progress',
      'probeEvent message: event.type must be one of started, headEpoch, layerSR, filters, layerDone, features, got "progress"',
    ],
    [
      { type: 'probeEvent', event: 'started' },
      'probeEvent',
      'event',
      'started',
      'probeEvent message: event must be an object, got "started"',
    ],
    [
      { ...probeFinished, layers: [{ layer: 'conv1', successRate: 1.2 }] },
      'probeFinished',
      'layers[0].successRate',
      1.2,
      'probeFinished message: layers[0].successRate must be a finite number >= 0 and <= 1, got 1.2',
    ],
    [
      { ...probeFinished, forwardCalls: -1 },
      'probeFinished',
      'forwardCalls',
      -1,
      'must be an integer from 0 to',
    ],
    [
      { ...probeFinished, layers: {} },
      'probeFinished',
      'layers',
      {},
      'probeFinished message: layers must be an array, got {}',
    ],
  ];
  it.each(
    cases.map(([message, type, field, value, text]) => ({ message, type, field, value, text })),
  )(
    'rejects a $type message with a bad $field, naming type, field and value',
    ({ message, type, field, value, text }) => {
      const error = rejection(message);
      expect(error.messageType).toBe(type);
      expect(error.field).toBe(field);
      expect(error.value).toEqual(value);
      expect(error.message).toContain(text);
    },
  );

  it('rejects a missing or unknown type, and anything that is not an object', () => {
    expect(rejection({ type: 'progress' }).message).toBe(
      'engine message: type must be one of start, probe, evaluate, cancel, started, step, epoch, checkpoint, finished, probeEvent, probeFinished, evaluationStep, evaluated, failed, cancelled, got "progress"',
    );
    expect(rejection(null).message).toBe('engine message: message must be an object, got null');
    expect(rejection('cancel').field).toBe('message');
  });

  it('separates the two directions', () => {
    expect(() => validateInbound({ type: 'cancelled', epoch: 0 })).toThrow(
      'cancelled message: type is not a runner -> engine type',
    );
    expect(() => validateOutbound({ type: 'cancel' })).toThrow(
      'cancel message: type is not an engine -> runner type',
    );
    expect(validateInbound({ type: 'cancel' }).type).toBe(MessageType.Cancel);
    expect(() => validateInbound(probeFinished)).toThrow('is not a runner -> engine type');
    expect(() =>
      validateOutbound({ type: 'probe', job: probeJob, checkpoint: new Uint8Array(4) }),
    ).toThrow('probe message: type is not an engine -> runner type');
  });
});
