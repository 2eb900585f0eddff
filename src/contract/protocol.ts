import type { ArchitectureSpec } from '../architecture/index.js';
import { ArchitectureValidationError, validateArchitecture } from '../architecture/index.js';
import {
  anyString,
  arrayOf,
  boolean,
  bytes,
  ContractIssue,
  integer,
  isObject,
  join,
  nullable,
  number,
  object,
  oneOf,
  record,
  show,
  string,
  type Check,
} from './checks.js';
import type { DatasetOptions } from './datasets.js';
import { checkHyperparameters, type TrainHyperparameters } from './hyperparameters.js';
import type { ProbeEvent, ProbeEventType, ProbeTimings } from './probe-events.js';
import { checkProbePlan, type ProbePlan } from './probe-options.js';

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
  /** runner -> engine: measure an imported network's test SR. */
  Evaluate = 'evaluate',
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
  /** engine -> runner: test batches evaluated so far, at most one per second. */
  EvaluationStep = 'evaluationStep',
  /** engine -> runner: an evaluation's end (terminal). */
  Evaluated = 'evaluated',
  Failed = 'failed',
  Cancelled = 'cancelled',
}

export const MESSAGE_TYPES: readonly MessageType[] = Object.values(MessageType);

/** What `loadDataset(name, options)` gets in the engine. */
export interface DatasetRequest {
  /** Catalog name: `procedural`, `mnist`, `fashion-mnist`, `cifar-10`, `cifar-100`. */
  readonly name: string;
  /** Loader options (plain JSON), e.g. the procedural dataset's sizes and seed. */
  readonly options?: DatasetOptions;
}

export interface TrainJobSpec {
  readonly architecture: ArchitectureSpec;
  readonly dataset: DatasetRequest;
  /** Resolved when the run was started (`resolveHyperparameters`); the engine uses them as they are. */
  readonly hyperparameters: TrainHyperparameters;
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

/** What a `probe` message asks for: the checkpoint's job (architecture, dataset) and the plan. */
export interface ProbeJobSpec {
  readonly architecture: ArchitectureSpec;
  readonly dataset: DatasetRequest;
  /** Made when the probe was started (`planProbe`); the engine runs it as it is. */
  readonly plan: ProbePlan;
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

/** What an `evaluate` message asks for: the network's architecture, its dataset, a test cap. */
export interface EvaluateJobSpec {
  readonly architecture: ArchitectureSpec;
  readonly dataset: DatasetRequest;
  /** Measure on the first N test examples only; null: all. */
  readonly maxTestExamples: number | null;
}

export interface EvaluateMessage {
  readonly type: MessageType.Evaluate;
  readonly job: EvaluateJobSpec;
  /** Bytes of the imported network's checkpoint (epoch 0; transferred, like `resumeFrom`). */
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
  /** Training examples actually used (after `maxTrainExamples`); 0 for an evaluation. */
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
  /** Where the time went. */
  readonly timings: ProbeTimings;
}

export interface EvaluationStepMessage {
  readonly type: MessageType.EvaluationStep;
  /** Test batches done, of `batches`. */
  readonly batch: number;
  readonly batches: number;
}

export interface EvaluatedMessage {
  readonly type: MessageType.Evaluated;
  /** Test SR in [0, 1] and mean softmax cross-entropy, inference mode. */
  readonly testSR: number;
  readonly testLoss: number;
  /** Test examples measured. */
  readonly examples: number;
  readonly wallSeconds: number;
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

export type InboundMessage = StartMessage | ProbeMessage | EvaluateMessage | CancelMessage;
export type OutboundMessage =
  | StartedMessage
  | StepMessage
  | EpochMessage
  | CheckpointMessage
  | FinishedMessage
  | ProbeEventMessage
  | ProbeFinishedMessage
  | EvaluationStepMessage
  | EvaluatedMessage
  | FailedMessage
  | CancelledMessage;
export type EngineMessage = InboundMessage | OutboundMessage;

const INBOUND: ReadonlySet<string> = new Set([
  MessageType.Start,
  MessageType.Probe,
  MessageType.Evaluate,
  MessageType.Cancel,
]);

/** The terminal engine -> runner types: exactly one ends a job, and nothing follows it. */
export const TERMINAL_TYPES: ReadonlySet<MessageType> = new Set([
  MessageType.Finished,
  MessageType.ProbeFinished,
  MessageType.Evaluated,
  MessageType.Failed,
  MessageType.Cancelled,
]);

const PROBE_EVENT_TYPE_SET: Record<ProbeEventType, true> = {
  started: true,
  headEpoch: true,
  layerSR: true,
  filters: true,
  layerDone: true,
  features: true,
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
    if (error instanceof ContractIssue)
      throw new ProtocolError(type, error.path, error.value, error.why);
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
// Field checks (contract/checks.ts), with the hyperparameters' and probe plans' own rules.

const message = (fields: Record<string, Check>, optional: readonly string[] = []): Check =>
  object({ type: () => undefined, ...fields }, optional);

const hyperparameters: Check = (v, path) => checkHyperparameters(v, path);
const plan: Check = (v, path) => checkProbePlan(v, path);

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
    throw new ContractIssue(join(path, first.path), first.value, `${why}${more}`);
  }
};

const dataset = object({ name: string, options: record }, ['options']);

const probeJob = object({ architecture, dataset, plan });

/** Only the envelope: `event.type` is a ProbeEvent type (the payloads, filters above all, are large). */
const probeEvent: Check = (v, path) => {
  if (!isObject(v)) throw new ContractIssue(path, v, 'must be an object');
  const type = v.type;
  if (typeof type !== 'string' || !(PROBE_EVENT_TYPES as readonly string[]).includes(type)) {
    throw new ContractIssue(
      join(path, 'type'),
      type,
      `must be one of ${PROBE_EVENT_TYPES.join(', ')}`,
    );
  }
};

const job = object({ architecture, dataset, hyperparameters });

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
  [MessageType.Evaluate]: message({
    job: object({ architecture, dataset, maxTestExamples: nullable(integer(1)) }),
    checkpoint: bytes,
  }),
  [MessageType.Cancel]: message({ requestedAt: number(0) }, ['requestedAt']),
  [MessageType.Started]: message({
    backend: string,
    device: string,
    threads: integer(0),
    trainExamples: integer(0),
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
      throw new ContractIssue('metrics.epoch', m.metrics.epoch, `must equal epoch ${m.epoch}`);
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
    timings: object({
      featuresSeconds: number(0),
      headsSeconds: number(0),
      phase3Seconds: number(0),
      afccSeconds: number(0),
      frozenPath: string,
      featureStore: oneOf(['memory', 'disk-float32', 'disk-float16', 'none']),
      featureImagesPerSecond: number(0),
    }),
    layers: arrayOf(object({ layer: string, successRate: number(0, 1) })),
  }),
  [MessageType.EvaluationStep]: message({ batch: integer(1), batches: integer(1) }),
  [MessageType.Evaluated]: message({
    testSR: number(0, 1),
    testLoss: number(0),
    examples: integer(1),
    wallSeconds: number(0),
  }),
  [MessageType.Failed]: message({ error: string, stack: nullable(anyString), permanent: boolean }, [
    'permanent',
  ]),
  [MessageType.Cancelled]: message({ epoch: integer(0), batchesAfterCancel: integer(0) }, [
    'batchesAfterCancel',
  ]),
};
