import { Normalization } from '../analysis/metrics.js';
import type { ArchitectureSpec } from '../architecture/index.js';
import { ArchitectureValidationError, validateArchitecture } from '../architecture/index.js';
import type { ProbeEvent, ProbeEventType, ProbeOptions } from './probe.js';
import type { ScheduleSpec } from './schedule.js';
import { scheduleIssues } from './schedule.js';

/**
 * The runner <-> engine message protocol (see PROTOCOL.md). Payloads are plain JSON values,
 * except checkpoint bytes (a Uint8Array, transferred rather than copied between threads).
 * Both sides validate what they receive with `validateMessage`.
 */

export enum MessageType {
  /** runner -> engine: train a job, optionally resuming from a checkpoint. */
  Start = 'start',
  /** runner -> engine: probe a phase-1 checkpoint (phases 2 and 3). */
  Probe = 'probe',
  /** runner -> engine: stop between batches; the last checkpoint stays valid. */
  Cancel = 'cancel',
  /** engine -> runner: backend ready, dataset loaded, hyperparameters resolved. */
  Started = 'started',
  /** engine -> runner: a training batch's loss, at most one per second by default. */
  Step = 'step',
  /** engine -> runner: metrics of an epoch just completed. */
  Epoch = 'epoch',
  /** engine -> runner: full training state after an epoch, to resume from. */
  Checkpoint = 'checkpoint',
  Finished = 'finished',
  /** engine -> runner: one event of a probe, in the order `probe()` emits them. */
  ProbeEvent = 'probeEvent',
  /** engine -> runner: a probe's end (terminal, like `finished`). */
  ProbeFinished = 'probeFinished',
  Failed = 'failed',
  Cancelled = 'cancelled',
}

export const MESSAGE_TYPES: readonly MessageType[] = Object.values(MessageType);

/**
 * `cropFlip`: random crop after zero padding (4 pixels at 32 x 32, side / 8 for other sizes; see
 * `cropFlipFor` in train.ts) + random horizontal flip; `none`.
 */
export type Augmentation = 'cropFlip' | 'none';
export const AUGMENTATIONS: readonly Augmentation[] = ['cropFlip', 'none'];

/** Phase-1 hyperparameters, resolved (every default filled in). */
export interface TrainHyperparameters {
  /** Epochs E; default 30. */
  readonly epochs: number;
  /** Default 128. */
  readonly batchSize: number;
  /** Peak learning rate; default 0.05. */
  readonly learningRate: number;
  /** Default 0.9. */
  readonly momentum: number;
  /** Default false. */
  readonly nesterov: boolean;
  /** lambda of lambda * w added to every gradient; default 5e-4. */
  readonly weightDecay: number;
  /** Default `{ kind: 'cosine' }`. */
  readonly schedule: ScheduleSpec;
  /** Default by dataset: `cropFlip` for colour images, `none` for grey ones. */
  readonly augmentation: Augmentation;
  /** Seeds initialisation, shuffling, augmentation and dropout; default 1. */
  readonly seed: number;
  /** Train on the first N training examples only; null (default) = all. */
  readonly maxTrainExamples: number | null;
  /** Measure test SR on the first N test examples only; null (default) = all. */
  readonly maxTestExamples: number | null;
}

/** Hyperparameters as a client sends them: any field may be left out for its default. */
export type TrainHyperparametersInput = {
  readonly [K in keyof TrainHyperparameters]?: TrainHyperparameters[K];
};

/** Defaults of METHOD.md phase 1, except `augmentation`, which depends on the dataset. */
export const TRAIN_DEFAULTS: Omit<TrainHyperparameters, 'augmentation'> = {
  epochs: 30,
  batchSize: 128,
  learningRate: 0.05,
  momentum: 0.9,
  nesterov: false,
  weightDecay: 5e-4,
  schedule: { kind: 'cosine' },
  seed: 1,
  maxTrainExamples: null,
  maxTestExamples: null,
};

/** What `loadDataset(name, options)` gets in the engine. */
export interface DatasetRequest {
  /** Catalog name: `procedural`, `mnist`, `fashion-mnist`, `cifar-10`, `cifar-100`. */
  readonly name: string;
  /** Loader options (plain JSON), e.g. the procedural dataset's sizes and seed. */
  readonly options?: Readonly<Record<string, unknown>>;
}

export interface TrainJobSpec {
  readonly architecture: ArchitectureSpec;
  readonly dataset: DatasetRequest;
  readonly hyperparameters?: TrainHyperparametersInput;
}

/** One epoch's record; SR = success rate (accuracy) in [0, 1]. */
export interface EpochMetrics {
  /** 1-based epoch number (epoch e of METHOD.md's schedule is number e + 1). */
  readonly epoch: number;
  /** Mean softmax cross-entropy over the epoch's training batches, in training mode. */
  readonly trainLoss: number;
  readonly trainSR: number;
  /** On the test split, inference mode (batch norm with running statistics). */
  readonly testLoss: number;
  readonly testSR: number;
  readonly learningRate: number;
  /** Training plus test evaluation of this epoch, seconds. */
  readonly wallSeconds: number;
}

/** What a `probe` message asks for: the checkpoint's job (architecture, dataset) and options. */
export interface ProbeJobSpec {
  readonly architecture: ArchitectureSpec;
  readonly dataset: DatasetRequest;
  /** `probe()`'s options as plain JSON; omitted fields take PROBE_DEFAULTS. */
  readonly options: ProbeOptions;
}

export interface StartMessage {
  readonly type: MessageType.Start;
  readonly job: TrainJobSpec;
  /** Bytes of a `checkpoint` message of the same job, or null to start afresh. */
  readonly resumeFrom: Uint8Array | null;
}

export interface ProbeMessage {
  readonly type: MessageType.Probe;
  readonly job: ProbeJobSpec;
  /** Bytes of a phase-1 `checkpoint` message (transferred, like `resumeFrom`). */
  readonly checkpoint: Uint8Array;
}

export interface CancelMessage {
  readonly type: MessageType.Cancel;
  /**
   * When the cancel was committed, ms since the epoch on this machine's clock (`Date.now()`):
   * the engine reports how many batches finished after it. Absent: unknown.
   */
  readonly requestedAt?: number;
}

export interface StartedMessage {
  readonly type: MessageType.Started;
  readonly backend: string;
  readonly device: string;
  readonly threads: number;
  readonly hyperparameters: TrainHyperparameters;
  /** Training examples actually used (after `maxTrainExamples`). */
  readonly trainExamples: number;
  readonly testExamples: number;
  /** Epochs already done by the checkpoint resumed from; null for a fresh start. */
  readonly resumedFromEpoch: number | null;
}

export interface StepMessage {
  readonly type: MessageType.Step;
  /** 1-based epoch in progress. */
  readonly epoch: number;
  /** 1-based batch just trained, of `batches` in the epoch. */
  readonly batch: number;
  readonly batches: number;
  /** Mean loss of that batch. */
  readonly loss: number;
}

export interface EpochMessage {
  readonly type: MessageType.Epoch;
  readonly epoch: number;
  readonly metrics: EpochMetrics;
}

export interface CheckpointMessage {
  readonly type: MessageType.Checkpoint;
  /** Epochs completed; resuming continues with epoch `epoch + 1`. */
  readonly epoch: number;
  /** See checkpoint.ts for the format. */
  readonly bytes: Uint8Array;
}

export interface FinishedMessage {
  readonly type: MessageType.Finished;
  readonly epochs: number;
  readonly finalTestSR: number;
  readonly finalTestLoss: number;
  readonly bestTestSR: number;
  /** 1-based epoch of `bestTestSR` (the first one on ties). */
  readonly bestEpoch: number;
  /** Sum of the epochs' wall times, seconds. */
  readonly wallSeconds: number;
}

export interface ProbeEventMessage {
  readonly type: MessageType.ProbeEvent;
  readonly event: ProbeEvent;
}

export interface ProbeFinishedMessage {
  readonly type: MessageType.ProbeFinished;
  /** Batches run through the frozen network. */
  readonly forwardCalls: number;
  readonly wallSeconds: number;
  /** SR(l) per probed layer, in network order. */
  readonly layers: readonly { readonly layer: string; readonly successRate: number }[];
}

export interface FailedMessage {
  readonly type: MessageType.Failed;
  readonly error: string;
  readonly stack: string | null;
  /** True when another attempt would fail the same way (a corrupt or missing dataset file). */
  readonly permanent?: boolean;
}

export interface CancelledMessage {
  readonly type: MessageType.Cancelled;
  /** Epochs completed, i.e. the epoch of the last checkpoint (0 if none; always 0 for a probe). */
  readonly epoch: number;
  /**
   * Batches that finished after the cancel's `requestedAt` (the one in progress then counts):
   * 0 or 1 when the cancel reached the engine within a batch. Absent without `requestedAt`.
   */
  readonly batchesAfterCancel?: number;
}

export type InboundMessage = StartMessage | ProbeMessage | CancelMessage;
export type OutboundMessage =
  | StartedMessage
  | StepMessage
  | EpochMessage
  | CheckpointMessage
  | FinishedMessage
  | ProbeEventMessage
  | ProbeFinishedMessage
  | FailedMessage
  | CancelledMessage;
export type EngineMessage = InboundMessage | OutboundMessage;

const INBOUND: ReadonlySet<string> = new Set([
  MessageType.Start,
  MessageType.Probe,
  MessageType.Cancel,
]);

/** The terminal engine -> runner types: exactly one ends a job, and nothing follows it. */
export const TERMINAL_TYPES: ReadonlySet<MessageType> = new Set([
  MessageType.Finished,
  MessageType.ProbeFinished,
  MessageType.Failed,
  MessageType.Cancelled,
]);

const PROBE_EVENT_TYPE_SET: Record<ProbeEventType, true> = {
  started: true,
  headEpoch: true,
  layerSR: true,
  filters: true,
  layerDone: true,
};
/** The `type`s of `ProbeEvent`, in the order a probe emits them for its first layer. */
export const PROBE_EVENT_TYPES = Object.keys(PROBE_EVENT_TYPE_SET) as readonly ProbeEventType[];

/** A message that breaks the protocol: which type, which field, what it got. */
export class ProtocolError extends Error {
  constructor(
    /** The message's `type`, or null when the type itself is missing or unknown. */
    readonly messageType: string | null,
    /** Dotted path of the offending field, e.g. `metrics.testSR`. */
    readonly field: string,
    readonly value: unknown,
    why: string,
  ) {
    super(`${messageType ?? 'engine'} message: ${field} ${why}, got ${show(value)}`);
    this.name = 'ProtocolError';
  }
}

/**
 * Checks an untrusted value against the protocol and returns it typed. Throws `ProtocolError`
 * naming the message type, the field and the value received; unknown fields are errors too.
 */
export function validateMessage(value: unknown): EngineMessage {
  if (!isObject(value)) throw new ProtocolError(null, 'message', value, 'must be an object');
  const type = value.type;
  if (typeof type !== 'string' || !(MESSAGE_TYPES as readonly string[]).includes(type)) {
    throw new ProtocolError(null, 'type', type, `must be one of ${MESSAGE_TYPES.join(', ')}`);
  }
  try {
    SHAPES[type as MessageType](value, '');
  } catch (error) {
    if (error instanceof Issue) throw new ProtocolError(type, error.path, error.value, error.why);
    throw error;
  }
  return value as unknown as EngineMessage;
}

/** `validateMessage`, restricted to what a runner may send to the engine. */
export function validateInbound(value: unknown): InboundMessage {
  const message = validateMessage(value);
  if (!INBOUND.has(message.type)) {
    throw new ProtocolError(message.type, 'type', message.type, 'is not a runner -> engine type');
  }
  return message as InboundMessage;
}

/** `validateMessage`, restricted to what the engine may send to a runner. */
export function validateOutbound(value: unknown): OutboundMessage {
  const message = validateMessage(value);
  if (INBOUND.has(message.type)) {
    throw new ProtocolError(message.type, 'type', message.type, 'is not an engine -> runner type');
  }
  return message as OutboundMessage;
}

// ---------------------------------------------------------------------------------------------
// Field checks. Each throws an Issue with the path (relative to the message) of what is wrong.

class Issue {
  constructor(
    readonly path: string,
    readonly value: unknown,
    readonly why: string,
  ) {}
}

type Check = (value: unknown, path: string) => void;

const join = (path: string, key: string): string => (path ? `${path}.${key}` : key);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  if (value instanceof Uint8Array) return `Uint8Array(${value.length})`;
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (typeof value === 'bigint') return `${value}n`;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = undefined;
  }
  if (text === undefined) return String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

const integer =
  (min: number, max = Number.MAX_SAFE_INTEGER): Check =>
  (v, path) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw new Issue(path, v, `must be an integer from ${min} to ${max}`);
    }
  };

/** A finite number in [min, max] (or (min, max] when `above`). */
const number =
  (min = -Infinity, max = Infinity, above = false): Check =>
  (v, path) => {
    const ok =
      typeof v === 'number' && Number.isFinite(v) && (above ? v > min : v >= min) && v <= max;
    if (!ok) {
      const lo = min === -Infinity ? '' : ` ${above ? '>' : '>='} ${min}`;
      const hi = max === Infinity ? '' : `${lo ? ' and' : ''} <= ${max}`;
      throw new Issue(path, v, `must be a finite number${lo}${hi}`);
    }
  };

const string: Check = (v, path) => {
  if (typeof v !== 'string' || v.length === 0)
    throw new Issue(path, v, 'must be a non-empty string');
};

const anyString: Check = (v, path) => {
  if (typeof v !== 'string') throw new Issue(path, v, 'must be a string');
};

const boolean: Check = (v, path) => {
  if (typeof v !== 'boolean') throw new Issue(path, v, 'must be a boolean');
};

const bytes: Check = (v, path) => {
  if (!(v instanceof Uint8Array) || v.length === 0) {
    throw new Issue(path, v, 'must be a non-empty Uint8Array');
  }
};

const oneOf =
  (options: readonly string[]): Check =>
  (v, path) => {
    if (typeof v !== 'string' || !options.includes(v)) {
      throw new Issue(path, v, `must be one of ${options.join(', ')}`);
    }
  };

const nullable =
  (check: Check): Check =>
  (v, path) => {
    if (v !== null) check(v, path);
  };

/** An object with exactly these fields (those marked optional may be absent or undefined). */
function object(fields: Record<string, Check>, optional: readonly string[] = []): Check {
  return (v, path) => {
    if (!isObject(v)) throw new Issue(path || 'message', v, 'must be an object');
    for (const key of Object.keys(v)) {
      if (!(key in fields))
        throw new Issue(join(path, key), v[key], 'is not a field of this message');
    }
    for (const [key, check] of Object.entries(fields)) {
      const fieldValue = v[key];
      if (fieldValue === undefined) {
        if (optional.includes(key)) continue;
        throw new Issue(join(path, key), fieldValue, 'is required');
      }
      check(fieldValue, join(path, key));
    }
  };
}

const message = (fields: Record<string, Check>, optional: readonly string[] = []): Check =>
  object({ type: () => undefined, ...fields }, optional);

/** Hyperparameters, resolved (`complete`) or as input (every field optional). */
function hyperparameters(complete: boolean): Check {
  const fields: Record<string, Check> = {
    epochs: integer(1, 100_000),
    batchSize: integer(1, 65_536),
    learningRate: number(0, Infinity, true),
    momentum: (v, path) => {
      number(0, 1)(v, path);
      if (v === 1) throw new Issue(path, v, 'must be below 1');
    },
    nesterov: boolean,
    weightDecay: number(0),
    // Checked below, once `epochs` is known.
    schedule: () => undefined,
    augmentation: complete ? oneOf(AUGMENTATIONS) : nullable(oneOf(AUGMENTATIONS)),
    seed: integer(0, 0xffffffff),
    maxTrainExamples: nullable(integer(1)),
    maxTestExamples: nullable(integer(1)),
  };
  // Checkpoints written before maxTestExamples existed lack it.
  const shape = object(fields, complete ? ['maxTestExamples'] : Object.keys(fields));
  return (v, path) => {
    shape(v, path);
    const h = v as Record<string, unknown>;
    const epochs = (h.epochs as number | undefined) ?? TRAIN_DEFAULTS.epochs;
    if (h.schedule !== undefined) {
      const [first] = scheduleIssues(h.schedule, epochs);
      if (first) throw new Issue(join(join(path, 'schedule'), first.field), first.value, first.why);
    }
    if (h.nesterov === true && h.momentum === 0) {
      throw new Issue(join(path, 'nesterov'), true, 'needs a momentum above 0');
    }
  };
}

const architecture: Check = (v, path) => {
  try {
    validateArchitecture(v);
  } catch (error) {
    if (!(error instanceof ArchitectureValidationError)) throw error;
    const first = error.issues[0];
    if (!first) throw error;
    // SpecIssue.message is `${path}: ${why}, got ${value}`; the value is shown by ProtocolError.
    const why = first.message.slice(first.path.length + 2).replace(/, got [\s\S]*$/, '');
    const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more issues)` : '';
    throw new Issue(join(path, first.path), first.value, `${why}${more}`);
  }
};

const record: Check = (v, path) => {
  if (!isObject(v)) throw new Issue(path, v, 'must be an object');
};

const arrayOf =
  (check: Check, minLength = 0): Check =>
  (v, path) => {
    if (!Array.isArray(v) || v.length < minLength) {
      throw new Issue(
        path,
        v,
        minLength ? `must be an array of at least ${minLength}` : 'must be an array',
      );
    }
    v.forEach((item, i) => check(item, `${path}[${i}]`));
  };

const dataset = object({ name: string, options: record }, ['options']);

/** `ProbeOptions`: every field optional; the ranges of `resolveProbeOptions`. */
const probeOptionFields: Record<string, Check> = {
  layers: nullable(arrayOf(string, 1)),
  afterPooling: boolean,
  maxFeatures: integer(1),
  headEpochs: integer(1, 100_000),
  learningRate: number(0, Infinity, true),
  momentum: (v, path) => {
    number(0, 1)(v, path);
    if (v === 1) throw new Issue(path, v, 'must be below 1');
  },
  weightDecay: number(0),
  batchSize: integer(1, 65_536),
  maxTrainExamples: nullable(integer(1)),
  maxTestExamples: nullable(integer(1)),
  featureCacheBytes: number(0),
  seed: integer(0, 0xffffffff),
  metrics: object(
    {
      threshold: number(),
      normalization: oneOf(Object.values(Normalization)),
      minScale: number(0),
    },
    ['threshold', 'normalization', 'minScale'],
  ),
  filtersPerEvent: integer(1),
};
const probeOptions = object(probeOptionFields, Object.keys(probeOptionFields));

const probeJob = object({ architecture, dataset, options: probeOptions });

/** Only the envelope: `event.type` is a ProbeEvent type (the payloads, filters above all, are large). */
const probeEvent: Check = (v, path) => {
  if (!isObject(v)) throw new Issue(path, v, 'must be an object');
  const type = v.type;
  if (typeof type !== 'string' || !(PROBE_EVENT_TYPES as readonly string[]).includes(type)) {
    throw new Issue(join(path, 'type'), type, `must be one of ${PROBE_EVENT_TYPES.join(', ')}`);
  }
};

const job = object(
  {
    architecture,
    dataset,
    hyperparameters: hyperparameters(false),
  },
  ['hyperparameters'],
);

const metrics = object({
  epoch: integer(1),
  trainLoss: number(0),
  trainSR: number(0, 1),
  testLoss: number(0),
  testSR: number(0, 1),
  learningRate: number(0),
  wallSeconds: number(0),
});

const SHAPES: Record<MessageType, Check> = {
  [MessageType.Start]: message({ job, resumeFrom: nullable(bytes) }),
  [MessageType.Probe]: message({ job: probeJob, checkpoint: bytes }),
  [MessageType.Cancel]: message({ requestedAt: number(0) }, ['requestedAt']),
  [MessageType.Started]: message({
    backend: string,
    device: string,
    threads: integer(0),
    hyperparameters: hyperparameters(true),
    trainExamples: integer(1),
    testExamples: integer(1),
    resumedFromEpoch: nullable(integer(0)),
  }),
  [MessageType.Step]: message({
    epoch: integer(1),
    batch: integer(1),
    batches: integer(1),
    loss: number(),
  }),
  [MessageType.Epoch]: (v, path) => {
    message({ epoch: integer(1), metrics })(v, path);
    const m = v as { epoch: number; metrics: EpochMetrics };
    if (m.metrics.epoch !== m.epoch) {
      throw new Issue('metrics.epoch', m.metrics.epoch, `must equal epoch ${m.epoch}`);
    }
  },
  [MessageType.Checkpoint]: message({ epoch: integer(1), bytes }),
  [MessageType.Finished]: message({
    epochs: integer(1),
    finalTestSR: number(0, 1),
    finalTestLoss: number(0),
    bestTestSR: number(0, 1),
    bestEpoch: integer(1),
    wallSeconds: number(0),
  }),
  [MessageType.ProbeEvent]: message({ event: probeEvent }),
  [MessageType.ProbeFinished]: message({
    forwardCalls: integer(0),
    wallSeconds: number(0),
    layers: arrayOf(object({ layer: string, successRate: number(0, 1) })),
  }),
  [MessageType.Failed]: message({ error: string, stack: nullable(anyString), permanent: boolean }, [
    'permanent',
  ]),
  [MessageType.Cancelled]: message({ epoch: integer(0), batchesAfterCancel: integer(0) }, [
    'batchesAfterCancel',
  ]),
};
