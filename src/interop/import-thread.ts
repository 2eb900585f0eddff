import { createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { ArchitectureValidationError, validateArchitecture } from '../architecture/index.js';
import { encodeCheckpoint } from '../contract/checkpoint.js';
import type { NamedArray } from '../contract/tensors.js';
import { loadDataset } from '../data/load.js';
import { channelStats } from '../data/normalize.js';
import type { ChannelStats } from '../data/types.js';
import {
  applyInputSettings,
  applyLabelMapping,
  ImportError,
  type ImportErrorCode,
  readOnnx,
  readTfjsLayers,
  type ImportedNetwork,
} from './index.js';
import type { ImportJob, ThreadReply, ThreadRequest } from './import-messages.js';

/**
 * The import thread (started by import-session.ts): receives an upload's files in chunks, then
 * parses the network, checks it against the dataset, applies the user's input settings (or the
 * file's record, or the dataset's standardisation), and encodes it as an epoch-0 checkpoint,
 * all off the API's event loop. Everything a user can get wrong is answered `refused`.
 */

interface File {
  readonly field: string;
  readonly name: string;
  readonly chunks: Uint8Array[];
  size: number;
}

const files = new Map<number, File>();

function serve(port: NonNullable<typeof parentPort>): void {
  port.on('message', (message: ThreadRequest) => {
    switch (message.type) {
      case 'open':
        files.set(message.file, { field: message.field, name: message.name, chunks: [], size: 0 });
        return;
      case 'chunk': {
        const file = files.get(message.file)!;
        file.chunks.push(message.bytes);
        file.size += message.bytes.byteLength;
        return;
      }
      case 'finish': {
        let reply: ThreadReply;
        try {
          reply = importNetwork(message.job);
        } catch (error) {
          reply = replyFor(error);
        }
        port.postMessage(
          reply,
          reply.type === 'done' ? [reply.checkpoint.buffer as ArrayBuffer] : [],
        );
        return;
      }
    }
  });
}

function whole(file: File): Uint8Array {
  if (file.chunks.length === 1) return file.chunks[0]!;
  const out = new Uint8Array(file.size);
  let at = 0;
  for (const chunk of file.chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  file.chunks.length = 0;
  return out;
}

/** A mismatch between the file and the request (the dataset, the settings): the user's to fix. */
class Refusal extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

function refuse(code: string, message: string, field?: string): never {
  throw new Refusal(code, message, field);
}

function importNetwork(job: ImportJob): ThreadReply {
  const all = [...files.values()];
  const model = all.find((f) => f.field === 'model');
  if (!model) return refuse('NO_MODEL', 'the upload has no `model` file part', 'model');
  const weights = all.filter((f) => f.field === 'weights');
  const modelBytes = whole(model);
  if (modelBytes.byteLength === 0)
    return refuse(
      'EMPTY',
      `the model file ${JSON.stringify(model.name)} is empty (0 bytes)`,
      'model',
    );
  const sha256 = createHash('sha256').update(modelBytes).digest('hex');
  const tfjs = model.name.toLowerCase().endsWith('.json') || firstByte(modelBytes) === 0x7b;
  const network: ImportedNetwork = tfjs
    ? readTfjsLayers(
        new TextDecoder().decode(modelBytes),
        new Map(weights.map((f) => [f.name, whole(f)])),
      )
    : readOnnx(modelBytes);
  const fitted = fitToDataset({ ...network, spec: { ...network.spec, name: job.name } }, job);
  const { weights: read, normalization, from } = standardisation(fitted, job);
  const spec = fitted.spec;
  const checkpoint = encodeCheckpoint({
    epoch: 0,
    rngState: 0,
    meta: {
      architecture: spec,
      dataset: { name: job.dataset.name, options: job.dataset.options },
      hyperparameters: null,
      normalization,
      history: [],
    },
    weights: read,
    momentum: [],
  });
  return {
    type: 'done',
    spec,
    checkpoint,
    format: network.format,
    fileName: model.name,
    sizeBytes: all.reduce((s, f) => s + f.size, 0),
    sha256,
    normalizationFrom: from,
    notes: [...network.notes],
  };
}

function firstByte(bytes: Uint8Array): number {
  for (const b of bytes) if (b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09) return b;
  return -1;
}

/**
 * The network checked against the dataset and fitted to it: the same input shape, and one output
 * per label (the outputs picked by `labelMapping` when given).
 */
function fitToDataset(network: ImportedNetwork, job: ImportJob): ImportedNetwork {
  const { inputShape, labels, name } = job.dataset;
  const { spec } = network;
  if (spec.inputShape.join('x') !== inputShape.join('x'))
    refuse(
      'SHAPE_MISMATCH',
      `the network takes inputs of ${spec.inputShape.join('x')} (height x width x channels), dataset ${name} has ${inputShape.join('x')}`,
      'dataset',
    );
  const mapping = job.labelMapping;
  if (!mapping && spec.labels !== labels)
    refuse(
      'LABEL_MISMATCH',
      `the network has ${spec.labels} outputs, dataset ${name} has ${labels} labels: give labelMapping (for each label, the output that scores it)`,
      'dataset',
    );
  if (mapping && mapping.length !== labels)
    refuse(
      'LABEL_MISMATCH',
      `labelMapping has ${mapping.length} entries, dataset ${name} has ${labels} labels: give one network output per label`,
      'labelMapping',
    );
  let fitted: ImportedNetwork = network;
  if (mapping) {
    try {
      fitted = { ...network, ...applyLabelMapping(network, mapping) };
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      refuse('LABEL_MISMATCH', error.message, 'labelMapping');
    }
  }
  try {
    validateArchitecture(fitted.spec);
  } catch (error) {
    if (!(error instanceof ArchitectureValidationError)) throw error;
    refuse('INVALID_ARCHITECTURE', `the network cannot be built here: ${error.message}`, 'model');
  }
  return fitted;
}

/**
 * How the inputs are standardised: the user's settings (converted to filterscope's form, the
 * first conv's channels reordered for BGR networks), else the file's own record (our exports),
 * else filterscope's standardisation of the dataset's training split.
 */
function standardisation(
  network: ImportedNetwork,
  job: ImportJob,
): {
  weights: readonly NamedArray[];
  normalization: ChannelStats;
  from: 'settings' | 'file' | 'dataset';
} {
  const channels = network.spec.inputShape[2];
  if (job.input) {
    try {
      const { weights, normalization } = applyInputSettings(network, job.input);
      return { weights, normalization, from: 'settings' };
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      refuse('SETTINGS_MISMATCH', error.message, 'input');
    }
  }
  const recorded = network.metadata.normalization;
  if (recorded && recorded.mean.length === channels)
    return { weights: network.weights, normalization: recorded, from: 'file' };
  const dataset = loadDataset(job.dataset.name, {
    roots: job.dataset.roots,
    maxTest: 1,
    ...(job.dataset.name === 'procedural' ? { procedural: job.dataset.options } : {}),
  });
  return {
    weights: network.weights,
    normalization: channelStats(dataset.train, dataset.inputShape),
    from: 'dataset',
  };
}

/** The codes about the TensorFlow.js weight files rather than model.json. */
const WEIGHT_CODES = new Set<ImportErrorCode>([
  'MISSING_WEIGHTS',
  'SHORT_WEIGHTS',
  'EXTRA_WEIGHTS',
]);

/** A thrown error as the thread's answer: a user's mistake (`refused`) or a failure. */
function replyFor(error: unknown): ThreadReply {
  if (error instanceof ImportError)
    return {
      type: 'refused',
      code: error.code,
      message: error.message,
      field: WEIGHT_CODES.has(error.code) ? 'weights' : 'model',
      ...(error.node ? { node: error.node } : {}),
      ...(error.supported ? { supported: [...error.supported] } : {}),
    };
  if (error instanceof Refusal)
    return {
      type: 'refused',
      code: error.code,
      message: error.message,
      ...(error.field ? { field: error.field } : {}),
    };
  const e = error instanceof Error ? error : new Error(String(error));
  return { type: 'failed', message: e.message };
}

if (parentPort && (workerData as { filterscopeImport?: unknown } | null)?.filterscopeImport)
  serve(parentPort);
