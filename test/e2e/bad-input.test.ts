import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import type { Client } from 'graphql-ws';
import { shorten } from '../../src/api/errors.js';
import { rawWebSocket, type RawStep } from '../helpers/raw-ws.js';
import { startTestServer, wsQuery, type TestServer } from '../helpers/server.js';

/**
 * The bad-input promise, case by case, over real HTTP and WebSocket: every client mistake gets a
 * GraphQL error with a code (or a protocol answer: an HTTP status, a WebSocket close code) that
 * names the field and the value where there is one, carries no stack trace or server path, and
 * leaves every table exactly as it was. One server answers most cases; a second one, with API
 * keys, a launch rate, a data folder of corrupt files and a runner, answers the rest.
 */
jest.setTimeout(120_000);

const TABLES = [
  'architectures',
  'layers',
  'training_runs',
  'run_metrics',
  'checkpoints',
  'checkpoint_chunks',
  'jobs',
  'events',
  'event_topics',
  'probes',
  'layer_probes',
  'filter_results',
] as const;

/** Row count and a hash of every row of every table: an update shows as well as an insert. */
async function snapshot(s: TestServer): Promise<Record<string, string>> {
  const query = TABLES.map(
    (table) =>
      `select '${table}' as name, count(*)::int as n, ` +
      `md5(coalesce(string_agg(x::text, '|' order by x::text), '')) as h from ${table} x`,
  ).join(' union all ');
  const rows = await s.server.store.rows<{ name: string; n: number; h: string }>(sql.raw(query));
  return Object.fromEntries(rows.map((r) => [r.name, `${r.n} rows, md5 ${r.h}`]));
}

interface GraphQLErrorShape {
  readonly message: string;
  readonly locations?: unknown;
  readonly extensions?: Record<string, unknown>;
}

/** What a case got back, whatever the transport. */
interface Answer {
  /** HTTP status; null over WebSocket. */
  readonly status: number | null;
  /** `extensions.code` of the first error, `close <code>` for a socket the server closed, or `none`. */
  readonly code: string;
  readonly error: GraphQLErrorShape | null;
  readonly data?: unknown;
  /** Everything the client received, for the leak checks. */
  readonly text: string;
}

interface Case {
  readonly name: string;
  readonly send: (s: TestServer) => Promise<Answer>;
  readonly code: string;
  readonly status?: number;
  /** `extensions.field`, also named in the message. */
  readonly field?: string;
  /** `extensions.value` (as JSON carries it), also shown in the message. */
  readonly value?: unknown;
  /** Substrings the message (or the close reason) must contain. */
  readonly mentions?: readonly string[];
  /** For `none`: the data expected. */
  readonly data?: unknown;
}

const answerOf = (status: number | null, text: string): Answer => {
  let body: { errors?: GraphQLErrorShape[]; data?: unknown } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // Not JSON: the code stays `none` and the case fails on it.
  }
  const error = body.errors?.[0] ?? null;
  return {
    status,
    code: error ? String(error.extensions?.code ?? '(no code)') : 'none',
    error,
    data: body.data,
    text,
  };
};

/** POSTs a raw body to /graphql. */
const post =
  (body: string, headers: Record<string, string> = {}) =>
  async (s: TestServer): Promise<Answer> => {
    const res = await fetch(s.server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    return answerOf(res.status, await res.text());
  };

/** POSTs one operation as JSON. */
const http = (
  query: string,
  variables?: Record<string, unknown>,
  headers?: Record<string, string>,
) => post(JSON.stringify({ query, variables }), headers);

/** Runs one operation over graphql-ws on the server's shared client (see `clientOf`). */
const ws =
  (query: string, variables?: Record<string, unknown>, key?: string) =>
  async (s: TestServer): Promise<Answer> => {
    const result = await wsQuery(clientOf(s, key), query, variables).catch(
      (errors: unknown) => ({ errors }) as { errors: unknown },
    );
    return answerOf(null, JSON.stringify(result));
  };

/**
 * Runs a subscription to its end over graphql-ws: the answer is its first error, or `none` with
 * every item as `data`; `still open` when it neither ends nor answers within `waitMs` (a stream
 * that hangs).
 */
const wsAll =
  (query: string, variables?: Record<string, unknown>, waitMs = 5000) =>
  async (s: TestServer): Promise<Answer> => {
    const items: unknown[] = [];
    const outcome = await new Promise<{ errors?: unknown; open?: true }>((resolve) => {
      const timer = setTimeout(() => {
        dispose();
        resolve({ open: true });
      }, waitMs);
      const dispose = clientOf(s).subscribe(
        { query, variables },
        {
          next: (value) => {
            if (value.errors) {
              clearTimeout(timer);
              resolve({ errors: value.errors });
            } else items.push(Object.values(value.data ?? {})[0]);
          },
          error: (errors) => {
            clearTimeout(timer);
            resolve({ errors });
          },
          complete: () => {
            clearTimeout(timer);
            resolve({});
          },
        },
      );
    });
    if (outcome.open) return { ...answerOf(null, '{}'), code: 'still open', text: '{}' };
    if (outcome.errors) return answerOf(null, JSON.stringify({ errors: outcome.errors }));
    return answerOf(null, JSON.stringify({ data: items }));
  };

/** The last sequence of a run's or a probe's stream, read over HTTP. */
async function lastSequence(s: TestServer, kind: 'run' | 'probe', id: string): Promise<number> {
  const query =
    kind === 'run'
      ? `subscription($id: ID!) { trainingProgress(runId: $id) { sequence } }`
      : `subscription($id: ID!) { probeProgress(probeId: $id) { sequence } }`;
  const answer = await wsAll(query, { id })(s);
  const items = answer.data as { sequence: number }[];
  return items.at(-1)!.sequence;
}

/** Raw frames to the WebSocket endpoint; the answer is the close code the server chose. */
const frames =
  (steps: readonly RawStep[]) =>
  async (s: TestServer): Promise<Answer> => {
    const outcome = await rawWebSocket(s.server.wsUrl, steps);
    const text = JSON.stringify(outcome);
    if (outcome.code === null) return { ...answerOf(null, '{}'), code: 'still open', text };
    return {
      status: null,
      code: `close ${outcome.code}`,
      error: { message: outcome.reason },
      text,
    };
  };

const clients = new Map<string, Client>();
const clientOf = (s: TestServer, key?: string): Client => {
  const name = `${s.server.port}/${key ?? ''}`;
  let client = clients.get(name);
  if (!client) {
    client = s.ws(key ? { authorization: `Bearer ${key}` } : undefined);
    clients.set(name, client);
  }
  return client;
};

const gid = (type: string, key: string | number): string =>
  Buffer.from(`${type}:${key}`).toString('base64url');
const msg = (value: unknown): string => JSON.stringify(value);
const INIT = { send: msg({ type: 'connection_init' }) } as const;
const ACK = { await: 'connection_ack' } as const;

/** Ids made in `beforeAll`; the cases read them when they run. */
const fx = {
  archId: '',
  presetId: '',
  queuedRunId: '',
  cancelledRunId: '',
  succeededRunId: '',
  cancelledProbeId: '',
};

const CREATE = `mutation($input: CreateArchitectureInput!) { createArchitecture(input: $input) { id } }`;
const DELETE = `mutation($id: ID!) { deleteArchitecture(id: $id) }`;
const START = `mutation($input: StartTrainingInput!) { startTraining(input: $input) { id } }`;
const CANCEL_RUN = `mutation($id: ID!) { cancelRun(id: $id) { id status } }`;
const START_PROBE = `mutation($input: StartProbeInput!) { startProbe(input: $input) { id } }`;
const CANCEL_PROBE = `mutation($id: ID!) { cancelProbe(id: $id) { id status } }`;

const arch = (overrides: Record<string, unknown> = {}) => ({
  name: 'bad-input-new',
  inputShape: [8, 8, 3],
  labels: 4,
  blocks: [{ kind: 'CONV', filters: 4 }],
  ...overrides,
});
const createWith = (overrides: Record<string, unknown>) => http(CREATE, { input: arch(overrides) });
/** startTraining on the fixture architecture (8x8x3, 4 labels) with `overrides`. */
const train = (
  overrides: Record<string, unknown> = {},
  hyperparameters?: Record<string, unknown>,
) => http(START, { input: trainInput(overrides, hyperparameters) });
const trainInput = (
  overrides: Record<string, unknown> = {},
  hyperparameters?: Record<string, unknown>,
) => ({
  architectureId: fx.archId,
  dataset: 'procedural',
  datasetOptions: { imageSize: 8, labels: 4, trainSize: 64, testSize: 32 },
  ...(hyperparameters ? { hyperparameters } : {}),
  ...overrides,
});
/** A literal startTraining whose hyperparameters are `hp` (GraphQL syntax, so NaN can be written). */
const trainLiteral = (hp: string) => async (s: TestServer) =>
  http(`mutation { startTraining(input: { architectureId: "${fx.archId}", dataset: "procedural",
    datasetOptions: { imageSize: 8, labels: 4 }, hyperparameters: { ${hp} } }) { id } }`)(s);
const probeWith = (overrides: Record<string, unknown>) => async (s: TestServer) =>
  http(START_PROBE, { input: { runId: fx.succeededRunId, ...overrides } })(s);
const late =
  (make: () => (s: TestServer) => Promise<Answer>) =>
  (s: TestServer): Promise<Answer> =>
    make()(s);

let deep = 'name';
for (let i = 0; i < 7; i++) deep = `layers { architecture { ${deep} } }`;

const MAIN_CASES: Case[] = [
  // createArchitecture
  {
    name: 'createArchitecture: filters 1e12 (over Int)',
    send: createWith({ blocks: [{ kind: 'CONV', filters: 1e12 }] }),
    code: 'BAD_USER_INPUT',
    status: 400,
    mentions: ['input.blocks[0].filters', '1000000000000'],
  },
  {
    name: 'createArchitecture: filters -1',
    send: createWith({ blocks: [{ kind: 'CONV', filters: -1 }] }),
    code: 'BAD_USER_INPUT',
    field: 'input.blocks[0].filters',
    value: -1,
  },
  {
    name: 'createArchitecture: a string for an Int',
    send: createWith({ labels: 'four' }),
    code: 'BAD_USER_INPUT',
    mentions: ['input.labels', '"four"'],
  },
  {
    name: 'createArchitecture: an object for a list',
    send: createWith({ inputShape: { height: 8 } }),
    code: 'BAD_USER_INPUT',
    mentions: ['input.inputShape', 'height: 8'],
  },
  {
    name: 'createArchitecture: labels 1e308 (a Float for an Int)',
    send: createWith({ labels: 1e308 }),
    code: 'BAD_USER_INPUT',
    mentions: ['input.labels', '1e+308'],
  },
  {
    name: 'createArchitecture: rate NaN (literal)',
    send: http(`mutation { createArchitecture(input: { name: "n", inputShape: [8, 8, 3], labels: 4,
      blocks: [{ kind: DROPOUT, rate: NaN }] }) { id } }`),
    code: 'GRAPHQL_VALIDATION_FAILED',
    status: 400,
    mentions: ['NaN'],
  },
  {
    name: 'createArchitecture: rate 1e999 (a literal that parses to Infinity)',
    send: http(`mutation { createArchitecture(input: { name: "n", inputShape: [8, 8, 3], labels: 4,
      blocks: [{ kind: DROPOUT, rate: 1e999 }] }) { id } }`),
    code: 'BAD_USER_INPUT',
    field: 'input.blocks[0].rate',
    value: 'Infinity',
  },
  {
    name: 'createArchitecture: an unknown enum value (literal)',
    send: http(`mutation { createArchitecture(input: { name: "n", inputShape: [8, 8, 3], labels: 4,
      blocks: [{ kind: LSTM }] }) { id } }`),
    code: 'GRAPHQL_VALIDATION_FAILED',
    mentions: ['LSTM', 'LayerKind'],
  },
  {
    name: 'createArchitecture: an unknown enum value (variable)',
    send: createWith({ blocks: [{ kind: 'CONV', filters: 4, padding: 'CIRCULAR' }] }),
    code: 'BAD_USER_INPUT',
    mentions: ['input.blocks[0].padding', 'CIRCULAR'],
  },
  {
    name: 'createArchitecture: padding and explicitPadding both',
    send: createWith({
      blocks: [
        {
          kind: 'CONV',
          filters: 4,
          padding: 'SAME',
          explicitPadding: { top: 1, bottom: 1, left: 1, right: 1 },
        },
      ],
    }),
    code: 'BAD_USER_INPUT',
    field: 'input.blocks[0].explicitPadding',
    mentions: ['give one of the two'],
  },
  {
    name: 'createArchitecture: a negative explicit padding',
    send: createWith({
      blocks: [
        { kind: 'CONV', filters: 4, explicitPadding: { top: -1, bottom: 0, left: 0, right: 0 } },
      ],
    }),
    code: 'BAD_USER_INPUT',
    mentions: ['input.blocks[0].padding.top', '-1'],
  },
  {
    name: 'createArchitecture: a conv after a global average pooling',
    send: createWith({ blocks: [{ kind: 'GLOBAL_AVG_POOL' }, { kind: 'CONV', filters: 4 }] }),
    code: 'BAD_USER_INPUT',
    mentions: ['input.blocks[1]'],
  },
  {
    name: 'createArchitecture: an unknown input field',
    send: createWith({ color: 'blue' }),
    code: 'BAD_USER_INPUT',
    mentions: ['color', 'CreateArchitectureInput'],
  },
  {
    name: 'createArchitecture: null for a required field',
    send: createWith({ name: null }),
    code: 'BAD_USER_INPUT',
    mentions: ['input.name', 'null'],
  },
  {
    name: 'createArchitecture: a name of 10,000 characters',
    send: createWith({ name: 'n'.repeat(10_000) }),
    code: 'BAD_USER_INPUT',
    field: 'input.name',
    value: 'n'.repeat(10_000),
  },
  {
    name: 'createArchitecture: a description of 10,000 characters',
    send: createWith({ description: 'd'.repeat(10_000) }),
    code: 'BAD_USER_INPUT',
    field: 'input.description',
    value: 'd'.repeat(10_000),
  },
  {
    name: 'createArchitecture: a name already taken (CONFLICT)',
    send: createWith({ name: 'bad-input-arch' }),
    code: 'CONFLICT',
    field: 'input.name',
    value: 'bad-input-arch',
  },
  // deleteArchitecture
  {
    name: 'deleteArchitecture: a preset (CONFLICT)',
    send: late(() => http(DELETE, { id: fx.presetId })),
    code: 'CONFLICT',
    mentions: ['VGG-16/CIFAR-10', 'preset'],
  },
  {
    name: 'deleteArchitecture: one a run uses (CONFLICT)',
    send: late(() => http(DELETE, { id: fx.archId })),
    code: 'CONFLICT',
    mentions: ['bad-input-arch', 'training run'],
  },
  {
    name: 'deleteArchitecture: an unknown id',
    send: http(DELETE, { id: gid('Architecture', 99_999) }),
    code: 'NOT_FOUND',
    mentions: [gid('Architecture', 99_999)],
  },
  ...['1e3', ' 7', '07', '7.0'].map((key) => ({
    name: `deleteArchitecture: a non-canonical key ${JSON.stringify(key)}`,
    send: http(DELETE, { id: Buffer.from(`Architecture:${key}`).toString('base64url') }),
    code: 'BAD_USER_INPUT',
    field: 'id',
    value: Buffer.from(`Architecture:${key}`).toString('base64url'),
  })),
  {
    name: 'HTTP: a subscription over POST',
    send: http(`subscription { runUpdated(afterSequence: 0) { sequence } }`, {}),
    code: 'BAD_REQUEST',
    status: 400,
    mentions: ['WebSocket'],
  },
  {
    name: 'deleteArchitecture: a malformed id',
    send: http(DELETE, { id: 'garbage!!' }),
    code: 'BAD_USER_INPUT',
    field: 'id',
    value: 'garbage!!',
  },
  {
    name: 'deleteArchitecture: a TrainingRun id',
    send: late(() => http(DELETE, { id: fx.queuedRunId })),
    code: 'BAD_USER_INPUT',
    field: 'id',
    mentions: ['Architecture'],
  },
  {
    name: 'deleteArchitecture: an id whose key is past the integer range',
    send: http(DELETE, { id: gid('Architecture', 99_999_999_999) }),
    code: 'BAD_USER_INPUT',
    field: 'id',
    value: gid('Architecture', 99_999_999_999),
  },
  {
    name: 'deleteArchitecture: a list for an ID',
    send: http(DELETE, { id: ['a', 'b'] }),
    code: 'BAD_USER_INPUT',
    mentions: ['$id', 'ID cannot represent'],
  },
  // startTraining
  {
    name: 'startTraining: epochs -1',
    send: late(() => train({}, { epochs: -1 })),
    code: 'BAD_USER_INPUT',
    field: 'input.hyperparameters.epochs',
    value: -1,
  },
  {
    name: 'startTraining: maxTestExamples 0',
    send: late(() => train({}, { maxTestExamples: 0 })),
    code: 'BAD_USER_INPUT',
    field: 'input.hyperparameters.maxTestExamples',
    value: 0,
  },
  {
    name: 'startTraining: batchSize 0',
    send: late(() => train({}, { batchSize: 0 })),
    code: 'BAD_USER_INPUT',
    field: 'input.hyperparameters.batchSize',
    value: 0,
  },
  {
    name: 'startTraining: learningRate 1e308',
    send: late(() => train({}, { learningRate: 1e308 })),
    code: 'BAD_USER_INPUT',
    field: 'input.hyperparameters.learningRate',
    value: 1e308,
  },
  {
    name: 'startTraining: learningRate NaN (literal)',
    send: trainLiteral('learningRate: NaN'),
    code: 'GRAPHQL_VALIDATION_FAILED',
    mentions: ['NaN'],
  },
  {
    name: 'startTraining: learningRate "NaN" (a string in variables)',
    send: late(() => train({}, { learningRate: 'NaN' })),
    code: 'BAD_USER_INPUT',
    mentions: ['input.hyperparameters.learningRate', '"NaN"'],
  },
  {
    name: 'startTraining: momentum 1e400 in the JSON body (parses to Infinity)',
    send: late(() =>
      post(
        JSON.stringify({
          query: START,
          variables: { input: trainInput({}, { momentum: 7 }) },
        }).replace('"momentum":7', '"momentum":1e400'),
      ),
    ),
    code: 'BAD_USER_INPUT',
    mentions: ['input.hyperparameters.momentum', 'Infinity'],
  },
  {
    name: 'startTraining: weightDecay -Infinity (literal -1e999)',
    send: trainLiteral('weightDecay: -1e999'),
    code: 'BAD_USER_INPUT',
    field: 'input.hyperparameters.weightDecay',
    value: '-Infinity',
  },
  {
    name: 'startTraining: an unknown augmentation (literal)',
    send: trainLiteral('augmentation: ROTATE'),
    code: 'GRAPHQL_VALIDATION_FAILED',
    mentions: ['ROTATE', 'Augmentation'],
  },
  {
    name: 'startTraining: an unknown schedule kind (variable)',
    send: late(() => train({}, { schedule: { kind: 'LINEAR' } })),
    code: 'BAD_USER_INPUT',
    mentions: ['input.hyperparameters.schedule.kind', 'LINEAR'],
  },
  {
    name: 'startTraining: a list for an input object',
    send: late(() => train({ hyperparameters: [1, 2] })),
    code: 'BAD_USER_INPUT',
    mentions: ['input.hyperparameters', 'HyperparametersInput'],
  },
  {
    name: 'startTraining: imageSize 1e12',
    send: late(() => train({ datasetOptions: { imageSize: 1e12 } })),
    code: 'BAD_USER_INPUT',
    mentions: ['input.datasetOptions.imageSize', '1000000000000'],
  },
  {
    name: 'startTraining: maxAttempts -1',
    send: late(() => train({ maxAttempts: -1 })),
    code: 'BAD_USER_INPUT',
    field: 'input.maxAttempts',
    value: -1,
  },
  {
    name: 'startTraining: a seed past uint32',
    send: late(() => train({}, { seed: 2 ** 32 })),
    code: 'BAD_USER_INPUT',
    field: 'input.hyperparameters.seed',
    value: 2 ** 32,
  },
  {
    name: 'startTraining: a Probe id for the architecture',
    send: late(() => train({ architectureId: fx.cancelledProbeId })),
    code: 'BAD_USER_INPUT',
    field: 'input.architectureId',
    mentions: ['Architecture'],
  },
  {
    name: 'startTraining: an unknown architecture',
    send: late(() => train({ architectureId: gid('Architecture', 99_999) })),
    code: 'NOT_FOUND',
    mentions: [gid('Architecture', 99_999)],
  },
  {
    name: 'startTraining: a dataset name of 10,000 characters',
    send: late(() => train({ dataset: 'x'.repeat(10_000), datasetOptions: null })),
    code: 'BAD_USER_INPUT',
    field: 'input.dataset',
    value: 'x'.repeat(10_000),
  },
  {
    name: 'startTraining: a dataset whose files are missing',
    send: late(() =>
      train({ architectureId: fx.presetId, dataset: 'cifar-10', datasetOptions: null }),
    ),
    code: 'BAD_USER_INPUT',
    field: 'input.dataset',
    value: 'cifar-10',
    mentions: ['data_batch_1.bin'],
  },
  // cancelRun
  {
    name: 'cancelRun: a finished run (CONFLICT)',
    send: late(() => http(CANCEL_RUN, { id: fx.cancelledRunId })),
    code: 'CONFLICT',
    mentions: ['CANCELLED'],
  },
  {
    name: 'cancelRun: an unknown run',
    send: http(CANCEL_RUN, { id: gid('TrainingRun', 99_999) }),
    code: 'NOT_FOUND',
    mentions: [gid('TrainingRun', 99_999)],
  },
  {
    name: 'cancelRun: an Architecture id',
    send: late(() => http(CANCEL_RUN, { id: fx.archId })),
    code: 'BAD_USER_INPUT',
    field: 'id',
    mentions: ['TrainingRun'],
  },
  {
    name: 'cancelRun: an empty id',
    send: http(CANCEL_RUN, { id: '' }),
    code: 'BAD_USER_INPUT',
    field: 'id',
    value: '',
  },
  {
    name: 'cancelRun: a boolean for an ID (literal)',
    send: http(`mutation { cancelRun(id: true) { id } }`),
    code: 'GRAPHQL_VALIDATION_FAILED',
    mentions: ['true'],
  },
  {
    name: 'cancelRun: an id whose key is past the integer range',
    send: http(CANCEL_RUN, { id: gid('TrainingRun', 2 ** 31) }),
    code: 'BAD_USER_INPUT',
    field: 'id',
  },
  // startProbe
  {
    name: 'startProbe: a run that has not succeeded (CONFLICT)',
    send: late(() => http(START_PROBE, { input: { runId: fx.queuedRunId } })),
    code: 'CONFLICT',
    mentions: ['QUEUED', 'SUCCEEDED'],
  },
  {
    name: 'startProbe: a Probe id for the run',
    send: late(() => http(START_PROBE, { input: { runId: fx.cancelledProbeId } })),
    code: 'BAD_USER_INPUT',
    field: 'input.runId',
    mentions: ['TrainingRun'],
  },
  {
    name: 'startProbe: an unknown run',
    send: http(START_PROBE, { input: { runId: gid('TrainingRun', 99_999) } }),
    code: 'NOT_FOUND',
  },
  {
    name: 'startProbe: headEpochs 0',
    send: probeWith({ headEpochs: 0 }),
    code: 'BAD_USER_INPUT',
    field: 'input.headEpochs',
    value: 0,
  },
  {
    name: 'startProbe: maxFeatures 1e12',
    send: probeWith({ maxFeatures: 1e12 }),
    code: 'BAD_USER_INPUT',
    mentions: ['input.maxFeatures', '1000000000000'],
  },
  {
    name: 'startProbe: batchSize 100000',
    send: probeWith({ batchSize: 100_000 }),
    code: 'BAD_USER_INPUT',
    field: 'input.batchSize',
    value: 100_000,
  },
  {
    name: 'startProbe: learningRate 0',
    send: probeWith({ learningRate: 0 }),
    code: 'BAD_USER_INPUT',
    field: 'input.learningRate',
    value: 0,
  },
  {
    name: 'startProbe: a layer that is not a conv layer',
    send: probeWith({ layers: ['conv9'] }),
    code: 'BAD_USER_INPUT',
    field: 'input.layers[0]',
    value: 'conv9',
  },
  {
    name: 'startProbe: a layer named twice',
    send: probeWith({ layers: ['conv1', 'conv1'] }),
    code: 'BAD_USER_INPUT',
    field: 'input.layers[1]',
    value: 'conv1',
  },
  {
    name: 'startProbe: an empty layer list',
    send: probeWith({ layers: [] }),
    code: 'BAD_USER_INPUT',
    field: 'input.layers',
    value: [],
  },
  {
    name: 'startProbe: an object for the layer list',
    send: probeWith({ layers: { conv1: true } }),
    code: 'BAD_USER_INPUT',
    mentions: ['input.layers'],
  },
  // cancelProbe
  {
    name: 'cancelProbe: a finished probe (CONFLICT)',
    send: late(() => http(CANCEL_PROBE, { id: fx.cancelledProbeId })),
    code: 'CONFLICT',
    mentions: ['CANCELLED'],
  },
  {
    name: 'cancelProbe: a TrainingRun id',
    send: late(() => http(CANCEL_PROBE, { id: fx.queuedRunId })),
    code: 'BAD_USER_INPUT',
    field: 'id',
    mentions: ['Probe'],
  },
  {
    name: 'cancelProbe: an unknown probe',
    send: http(CANCEL_PROBE, { id: gid('Probe', 99_999) }),
    code: 'NOT_FOUND',
    mentions: [gid('Probe', 99_999)],
  },
  // queries and connections
  {
    name: 'architectures(first: 100000)',
    send: http(`{ architectures(first: 100000) { totalCount } }`),
    code: 'BAD_USER_INPUT',
    field: 'first',
    value: 100_000,
  },
  {
    name: 'runs(first: -1)',
    send: http(`{ runs(first: -1) { totalCount } }`),
    code: 'BAD_USER_INPUT',
    field: 'first',
    value: -1,
  },
  {
    name: 'runs(after:) a cursor that is not one',
    send: http(`{ runs(after: "not-a-cursor") { totalCount } }`),
    code: 'BAD_USER_INPUT',
    field: 'after',
    value: 'not-a-cursor',
  },
  {
    name: 'architectures(after:) a cursor past the integer range',
    send: http(`query($a: String) { architectures(after: $a) { totalCount } }`, {
      a: Buffer.from('cursor:99999999999').toString('base64url'),
    }),
    code: 'BAD_USER_INPUT',
    field: 'after',
  },
  {
    name: 'runs(filter:) an unknown status (literal)',
    send: http(`{ runs(filter: { status: EXPLODED }) { totalCount } }`),
    code: 'GRAPHQL_VALIDATION_FAILED',
    mentions: ['EXPLODED', 'RunStatus'],
  },
  {
    name: 'runs(filter:) a malformed architecture id',
    send: http(`{ runs(filter: { architectureId: "nope" }) { totalCount } }`),
    code: 'BAD_USER_INPUT',
    field: 'filter.architectureId',
    value: 'nope',
  },
  {
    name: 'run(id:) a Probe id',
    send: late(() => http(`query($id: ID!) { run(id: $id) { id } }`, { id: fx.cancelledProbeId })),
    code: 'BAD_USER_INPUT',
    field: 'id',
    mentions: ['TrainingRun'],
  },
  {
    name: 'run.metrics(downsample: 1)',
    send: late(() =>
      http(`query($id: ID!) { run(id: $id) { metrics(downsample: 1) { epoch } } }`, {
        id: fx.queuedRunId,
      }),
    ),
    code: 'BAD_USER_INPUT',
    field: 'downsample',
    value: 1,
  },
  {
    name: 'probe layer filters(threshold: 1e999)',
    send: late(() =>
      http(
        `query($id: ID!) { probe(id: $id) { layers { filters(threshold: 1e999) { totalCount } } } }`,
        { id: fx.cancelledProbeId },
      ),
    ),
    code: 'BAD_USER_INPUT',
    field: 'threshold',
    value: 'Infinity',
  },
  {
    name: 'probe layer filters(threshold: 5) with the default COLUMN_CENTERED normalization',
    send: late(() =>
      http(
        `query($id: ID!) { probe(id: $id) { layers { filters(threshold: 5) { totalCount } } } }`,
        { id: fx.cancelledProbeId },
      ),
    ),
    code: 'BAD_USER_INPUT',
    field: 'threshold',
    value: 5,
    mentions: ['[0, 1]', 'COLUMN_CENTERED'],
  },
  {
    name: 'probe layer filters(threshold: -3, normalization: MAX)',
    send: late(() =>
      http(
        `query($id: ID!) { probe(id: $id) { layers { filters(threshold: -3, normalization: MAX) { totalCount } } } }`,
        { id: fx.cancelledProbeId },
      ),
    ),
    code: 'BAD_USER_INPUT',
    field: 'threshold',
    value: -3,
    mentions: ['[0, 1]', 'MAX'],
  },
  {
    name: 'architecture(id:, name:) both given',
    send: http(`{ architecture(id: "x", name: "y") { id } }`),
    code: 'BAD_USER_INPUT',
    field: 'id',
    value: 'x',
  },
  {
    name: 'nodes(ids:) 201 ids',
    send: http(`query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, {
      ids: Array.from({ length: 201 }, (_, i) => gid('Architecture', i + 1)),
    }),
    code: 'BAD_USER_INPUT',
    field: 'ids',
    mentions: ['201'],
  },
  {
    name: 'node(id:) a key past the integer range is null, not an error',
    send: http(`query($id: ID!) { node(id: $id) { id } }`, {
      id: gid('Architecture', 99_999_999_999),
    }),
    code: 'none',
    data: { node: null },
  },
  {
    name: 'a query 15 fields deep',
    send: http(`{ architecture(name: "VGG-16/CIFAR-10") { ${deep} } }`),
    code: 'GRAPHQL_VALIDATION_FAILED',
    status: 400,
    mentions: ['fields deep', 'the limit is 12'],
  },
  {
    name: 'a query over the cost limit',
    send: http(
      `query($p: ID!) { probe(id: $p) { layers { filters(first: 200) { nodes { correlation { svg rows } } } } } }`,
      { p: gid('Probe', 1) },
    ),
    code: 'BAD_USER_INPUT',
    status: 400,
    field: 'query',
    mentions: ['estimated cost'],
  },
  {
    name: 'a syntax error',
    send: http(`{ architectures(first: 3 { totalCount } }`),
    code: 'GRAPHQL_PARSE_FAILED',
    status: 400,
    mentions: ['Syntax Error'],
  },
  {
    name: 'an unknown field',
    send: http(`{ architectures { totalCount secretField } }`),
    code: 'GRAPHQL_VALIDATION_FAILED',
    mentions: ['secretField'],
  },
  {
    name: 'two operations and no operationName',
    send: http(`query A { datasets { name } } mutation B { deleteArchitecture(id: "x") }`),
    code: 'OPERATION_RESOLUTION_FAILURE',
    status: 400,
    mentions: ['operation name'],
  },
  // HTTP bodies
  {
    name: 'HTTP: malformed JSON',
    send: post('{"query": "{ datasets { name } }"'),
    code: 'BAD_REQUEST',
    status: 400,
    mentions: ['JSON'],
  },
  {
    name: 'HTTP: a body over 1 MB',
    send: post(JSON.stringify({ query: `{ datasets { name } }`, pad: 'x'.repeat(1_100_000) })),
    code: 'BAD_REQUEST',
    status: 413,
    mentions: ['1000000 bytes'],
  },
  {
    name: 'HTTP: a mutation over 1 MB (its variables padded)',
    send: http(CREATE, { input: arch({ description: 'd'.repeat(1_100_000) }) }),
    code: 'BAD_REQUEST',
    status: 413,
  },
  {
    name: 'HTTP: a JSON body without a query',
    send: post('{"variables": {}}'),
    code: 'BAD_REQUEST',
    status: 400,
  },
  {
    name: 'HTTP: a number for the query',
    send: post('{"query": 5}'),
    code: 'BAD_REQUEST',
    status: 400,
    mentions: ['strings'],
  },
  {
    name: 'HTTP: variables as a string',
    send: post(JSON.stringify({ query: DELETE, variables: '{"id":"x"}' })),
    code: 'BAD_REQUEST',
    status: 400,
    mentions: ['variables'],
  },
  {
    name: 'HTTP: a batch (an array body)',
    send: post(JSON.stringify([{ query: `{ datasets { name } }` }])),
    code: 'BAD_REQUEST',
    status: 400,
  },
  {
    name: 'HTTP: a mutation over GET',
    send: async (s) => {
      const res = await fetch(
        `${s.server.url}?query=${encodeURIComponent(`mutation { deleteArchitecture(id: "${fx.archId}") }`)}`,
        { headers: { 'apollo-require-preflight': '1' } },
      );
      return answerOf(res.status, await res.text());
    },
    code: 'BAD_REQUEST',
    status: 405,
    mentions: ['mutation'],
  },
  // subscriptions: every one on an object answers a missing object at once, a finished object
  // with nothing left to replay completes at once, and an afterSequence past the stream's end
  // names the last sequence
  {
    name: 'subscription: trainingProgress of a run that does not exist',
    send: wsAll(`subscription($r: ID!) { trainingProgress(runId: $r) { sequence } }`, {
      r: gid('TrainingRun', 99_999),
    }),
    code: 'NOT_FOUND',
    mentions: [gid('TrainingRun', 99_999)],
  },
  {
    name: 'subscription: trainingProgress of a run that does not exist, with afterSequence',
    send: wsAll(
      `subscription($r: ID!) { trainingProgress(runId: $r, afterSequence: 3) { sequence } }`,
      { r: gid('TrainingRun', 99_999) },
    ),
    code: 'NOT_FOUND',
  },
  {
    name: 'subscription: filterResults of a probe that does not exist',
    send: wsAll(`subscription($p: ID!) { filterResults(probeId: $p) { index } }`, {
      p: gid('Probe', 99_999),
    }),
    code: 'NOT_FOUND',
    mentions: [gid('Probe', 99_999)],
  },
  {
    name: 'subscription: filterResults of a layer the probe does not probe',
    send: late(() =>
      wsAll(`subscription($p: ID!) { filterResults(probeId: $p, layer: "conv9") { index } }`, {
        p: fx.cancelledProbeId,
      }),
    ),
    code: 'BAD_USER_INPUT',
    field: 'layer',
    value: 'conv9',
  },
  {
    name: 'subscription: trainingProgress of a finished run after its last event completes at once',
    send: async (s) => {
      const last = await lastSequence(s, 'run', fx.cancelledRunId);
      return wsAll(
        `subscription($r: ID!, $a: Int) { trainingProgress(runId: $r, afterSequence: $a) { sequence } }`,
        { r: fx.cancelledRunId, a: last },
      )(s);
    },
    code: 'none',
    data: [],
  },
  {
    name: 'subscription: trainingProgress of a finished run after its last event but one replays it and completes',
    send: async (s) => {
      const last = await lastSequence(s, 'run', fx.cancelledRunId);
      return wsAll(
        `subscription($r: ID!, $a: Int) { trainingProgress(runId: $r, afterSequence: $a) { status } }`,
        { r: fx.cancelledRunId, a: last - 1 },
      )(s);
    },
    code: 'none',
    data: [{ status: 'CANCELLED' }],
  },
  {
    name: 'subscription: trainingProgress with afterSequence past the last event',
    send: async (s) => {
      const last = await lastSequence(s, 'run', fx.cancelledRunId);
      return wsAll(
        `subscription($r: ID!, $a: Int) { trainingProgress(runId: $r, afterSequence: $a) { sequence } }`,
        { r: fx.cancelledRunId, a: last + 1 },
      )(s);
    },
    code: 'BAD_USER_INPUT',
    field: 'afterSequence',
    value: 3,
    mentions: ['last sequence is 2'],
  },
  {
    name: 'subscription: trainingProgress of a live run with afterSequence past the last event',
    send: late(() =>
      wsAll(
        `subscription($r: ID!) { trainingProgress(runId: $r, afterSequence: 1000) { sequence } }`,
        { r: fx.queuedRunId },
      ),
    ),
    code: 'BAD_USER_INPUT',
    field: 'afterSequence',
    value: 1000,
    mentions: ['last sequence is 1'],
  },
  {
    name: 'subscription: probeProgress of a finished probe after its last event completes at once',
    send: async (s) => {
      const last = await lastSequence(s, 'probe', fx.cancelledProbeId);
      return wsAll(
        `subscription($p: ID!, $a: Int) { probeProgress(probeId: $p, afterSequence: $a) { sequence } }`,
        { p: fx.cancelledProbeId, a: last },
      )(s);
    },
    code: 'none',
    data: [],
  },
  {
    name: 'subscription: probeProgress with afterSequence past the last event',
    send: late(() =>
      wsAll(`subscription($p: ID!) { probeProgress(probeId: $p, afterSequence: 7) { sequence } }`, {
        p: fx.cancelledProbeId,
      }),
    ),
    code: 'BAD_USER_INPUT',
    field: 'afterSequence',
    value: 7,
    mentions: ['last sequence is 2'],
  },
  {
    name: 'subscription: runUpdated with afterSequence past the last event',
    send: async (s) => {
      const res = await s.gql<{ runUpdatesSequence: number }>(`{ runUpdatesSequence }`);
      return wsAll(`subscription($a: Int) { runUpdated(afterSequence: $a) { sequence } }`, {
        a: res.data!.runUpdatesSequence + 5,
      })(s);
    },
    code: 'BAD_USER_INPUT',
    field: 'afterSequence',
    mentions: ['last sequence is'],
  },
  {
    name: 'subscription: runUpdated(afterSequence: -1)',
    send: wsAll(`subscription { runUpdated(afterSequence: -1) { sequence } }`),
    code: 'BAD_USER_INPUT',
    field: 'afterSequence',
    value: -1,
  },
  // A POST body not declared JSON: 415 saying what to send, whatever the content-type (or none),
  // and nothing runs. The body is a mutation that would store an architecture.
  ...(
    [
      ['no content-type', {}, 'no content-type'],
      ['text/plain', { 'content-type': 'text/plain;charset=UTF-8' }, '"text/plain'],
      [
        'application/x-www-form-urlencoded',
        { 'content-type': 'application/x-www-form-urlencoded' },
        '"application/x-www-form-urlencoded"',
      ],
      [
        'multipart/form-data',
        { 'content-type': 'multipart/form-data; boundary=x' },
        '"multipart/form-data',
      ],
      [
        'text/plain with a preflight header',
        { 'content-type': 'text/plain', 'apollo-require-preflight': '1' },
        '"text/plain"',
      ],
    ] as const
  ).map(([what, headers, got]): Case => ({
    name: `HTTP: a POST with ${what}`,
    send: async (s) => {
      // Bytes, not a string: fetch would add "text/plain" to a string body on its own.
      const body = new TextEncoder().encode(
        JSON.stringify({ query: CREATE, variables: { input: arch({ name: 'never-csrf' }) } }),
      );
      const res = await fetch(s.server.url, { method: 'POST', headers, body });
      return answerOf(res.status, await res.text());
    },
    code: 'BAD_REQUEST',
    status: 415,
    mentions: ['content-type: application/json', got],
  })),
  {
    name: 'HTTP: a GET without a CSRF preflight header',
    send: async (s) => {
      const res = await fetch(`${s.server.url}?query=${encodeURIComponent('{ __typename }')}`);
      return answerOf(res.status, await res.text());
    },
    code: 'BAD_REQUEST',
    status: 400,
    mentions: ['apollo-require-preflight: 1', 'content-type: application/json'],
  },
  // graphql-ws operations
  {
    name: 'WebSocket: trainingProgress with a malformed run id',
    send: ws(`subscription { trainingProgress(runId: "garbage") { sequence } }`),
    code: 'BAD_USER_INPUT',
    field: 'runId',
    value: 'garbage',
  },
  {
    name: 'WebSocket: trainingProgress(afterSequence: -1)',
    send: late(() =>
      ws(`subscription($r: ID!) { trainingProgress(runId: $r, afterSequence: -1) { sequence } }`, {
        r: fx.queuedRunId,
      }),
    ),
    code: 'BAD_USER_INPUT',
    field: 'afterSequence',
    value: -1,
  },
  {
    name: 'WebSocket: probeProgress with a TrainingRun id',
    send: late(() =>
      ws(`subscription($p: ID!) { probeProgress(probeId: $p) { sequence } }`, {
        p: fx.queuedRunId,
      }),
    ),
    code: 'BAD_USER_INPUT',
    field: 'probeId',
  },
  {
    name: 'WebSocket: probeProgress of an unknown probe',
    send: ws(`subscription($p: ID!) { probeProgress(probeId: $p) { sequence } }`, {
      p: gid('Probe', 99_999),
    }),
    code: 'NOT_FOUND',
    mentions: [gid('Probe', 99_999)],
  },
  {
    name: 'WebSocket: createArchitecture with filters -1',
    send: ws(CREATE, { input: arch({ blocks: [{ kind: 'CONV', filters: -1 }] }) }),
    code: 'BAD_USER_INPUT',
    field: 'input.blocks[0].filters',
    value: -1,
  },
  {
    name: 'WebSocket: a query 15 fields deep',
    send: ws(`{ architecture(name: "VGG-16/CIFAR-10") { ${deep} } }`),
    code: 'GRAPHQL_VALIDATION_FAILED',
    mentions: ['fields deep'],
  },
  {
    name: 'WebSocket: an unknown field',
    send: ws(`{ architectures { totalCount secretField } }`),
    code: 'GRAPHQL_VALIDATION_FAILED',
    mentions: ['secretField'],
  },
  {
    name: 'WebSocket: a syntax error',
    send: ws(`{ architectures(first: 3 { totalCount } }`),
    code: 'GRAPHQL_PARSE_FAILED',
    mentions: ['Syntax Error'],
  },
  {
    name: 'WebSocket: a string for an Int variable',
    send: ws(`query($n: Int) { architectures(first: $n) { totalCount } }`, { n: 'ten' }),
    code: 'BAD_USER_INPUT',
    mentions: ['$n', '"ten"'],
  },
  // raw graphql-transport-ws frames: graphql-ws's close codes
  {
    name: 'WebSocket frames: not JSON',
    send: frames([INIT, ACK, { send: 'this is not JSON {' }]),
    code: 'close 4400',
    mentions: ['Invalid message'],
  },
  {
    name: 'WebSocket frames: a JSON array',
    send: frames([INIT, ACK, { send: '[1, 2, 3]' }]),
    code: 'close 4400',
  },
  {
    name: 'WebSocket frames: an unknown message type',
    send: frames([INIT, ACK, { send: msg({ type: 'launch', id: '1' }) }]),
    code: 'close 4400',
  },
  {
    name: 'WebSocket frames: subscribe before connection_init',
    send: frames([
      { send: msg({ type: 'subscribe', id: '1', payload: { query: '{ datasets { name } }' } }) },
    ]),
    code: 'close 4401',
    mentions: ['Unauthorized'],
  },
  {
    name: 'WebSocket frames: a subscribe without a query',
    send: frames([INIT, ACK, { send: msg({ type: 'subscribe', id: '1', payload: {} }) }]),
    code: 'close 4400',
  },
  {
    name: 'WebSocket frames: a subscribe without an id',
    send: frames([
      INIT,
      ACK,
      { send: msg({ type: 'subscribe', payload: { query: '{ datasets { name } }' } }) },
    ]),
    code: 'close 4400',
  },
  {
    name: 'WebSocket frames: two subscriptions with one id',
    send: frames([
      INIT,
      ACK,
      {
        send: msg({
          type: 'subscribe',
          id: 'a',
          payload: { query: 'subscription { runUpdated { sequence } }' },
        }),
      },
      {
        send: msg({
          type: 'subscribe',
          id: 'a',
          payload: { query: 'subscription { runUpdated { sequence } }' },
        }),
      },
    ]),
    code: 'close 4409',
    mentions: ['already exists'],
  },
  {
    name: 'WebSocket frames: connection_init twice',
    send: frames([INIT, ACK, INIT]),
    code: 'close 4429',
  },
  {
    name: 'WebSocket frames: a message over 1 MB',
    send: frames([
      INIT,
      ACK,
      {
        send: msg({
          type: 'subscribe',
          id: '1',
          payload: { query: `{ datasets { name } }\n#${'x'.repeat(1_100_000)}` },
        }),
      },
    ]),
    code: 'close 1009',
  },
];

const WRITE = 'bad-input-writer-0123456789';
const READ = 'bad-input-reader-0123456789';
const LAUNCHES_PER_MINUTE = 3;
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const launch = (alias: string) =>
  `${alias}: startTraining(input: { architectureId: $a, dataset: "procedural" }) { id }`;

const KEYED_CASES: Case[] = [
  {
    name: 'keys: no Authorization header',
    send: http(CREATE, { input: arch() }),
    code: 'UNAUTHENTICATED',
    status: 401,
  },
  {
    name: 'keys: a wrong key',
    send: http(CREATE, { input: arch() }, bearer('not-the-key-0123456789')),
    code: 'UNAUTHENTICATED',
    status: 401,
  },
  {
    name: 'keys: a read key creating an architecture',
    send: http(CREATE, { input: arch() }, bearer(READ)),
    code: 'FORBIDDEN',
    status: 403,
    mentions: ['read-only'],
  },
  {
    name: 'keys: a read key cancelling a run',
    send: http(CANCEL_RUN, { id: gid('TrainingRun', 1) }, bearer(READ)),
    code: 'FORBIDDEN',
    status: 403,
  },
  {
    name: 'keys: a read key mutating over WebSocket',
    send: ws(CREATE, { input: arch() }, READ),
    code: 'FORBIDDEN',
  },
  {
    name: 'keys: a WebSocket without a key',
    send: frames([INIT]),
    code: 'close 4403',
    mentions: ['Forbidden'],
  },
  {
    name: `launch rate: ${LAUNCHES_PER_MINUTE + 1} startTraining aliases in one request`,
    send: http(
      `mutation($a: ID!) { ${['a', 'b', 'c', 'd'].map(launch).join(' ')} }`,
      { a: gid('Architecture', 1) },
      bearer(WRITE),
    ),
    code: 'RATE_LIMITED',
    status: 429,
    mentions: [`at most ${LAUNCHES_PER_MINUTE} jobs per minute`],
  },
];

/** What each case saw, for the summary. */
const seen: { name: string; code: string; status: number | null }[] = [];

const LEAKS: readonly RegExp[] = [
  /\n\s*at \S/,
  /\bat \S+ \([^)]*:\d+:\d+\)/,
  /\/work\//,
  /\.ts:/,
  /\.js:\d/,
  /node_modules/,
  /stacktrace/i,
];

/** How a message quotes a value: long ones are cut (extensions.value has them whole). */
const shown = (value: unknown): string =>
  shorten(
    typeof value === 'string' && /^-?Infinity$|^NaN$/.test(value) ? value : JSON.stringify(value),
  );

async function check(s: TestServer, c: Case): Promise<void> {
  const before = await snapshot(s);
  const answer = await c.send(s);
  seen.push({ name: c.name, code: answer.code, status: answer.status });
  const message = answer.error?.message ?? '';
  const extensions = answer.error?.extensions ?? {};
  // The whole answer in the failure message: the code alone does not say what went wrong.
  if (answer.code !== c.code)
    throw new Error(`expected ${c.code}, got ${answer.code}: ${answer.text.slice(0, 600)}`);
  if (c.status !== undefined) expect(answer.status).toBe(c.status);
  if (c.field !== undefined) {
    expect(extensions.field).toBe(c.field);
    expect(message).toContain(c.field);
  }
  if (c.value !== undefined) {
    expect(extensions.value).toEqual(c.value);
    expect(message).toContain(shown(c.value));
  }
  for (const mention of c.mentions ?? []) expect(message).toContain(mention);
  if (c.code === 'none') {
    expect(answer.error).toBeNull();
    expect(answer.data).toEqual(c.data);
  } else if (!c.code.startsWith('close ')) {
    expect(message.length).toBeGreaterThan(0);
  }
  for (const leak of LEAKS) expect(answer.text).not.toMatch(leak);
  expect(await snapshot(s)).toEqual(before);
}

afterAll(() => {
  const codes = new Map<string, number>();
  for (const { code } of seen) codes.set(code, (codes.get(code) ?? 0) + 1);
  const rows = [...codes].sort((a, b) => b[1] - a[1]).map(([code, cases]) => ({ code, cases }));
  console.log(
    `bad-input battery: ${seen.length} cases\n` +
      rows.map((r) => `  ${r.code.padEnd(28)} ${String(r.cases).padStart(3)}`).join('\n'),
  );
});

describe('bad input on one server: a coded error naming the field and value, nothing stored', () => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer('pglite', { FILTERSCOPE_LAUNCHES_PER_MINUTE: '100000' });
    const ok = async <T>(query: string, variables?: Record<string, unknown>): Promise<T> => {
      const res = await t.gql<T>(query, variables);
      if (res.errors) throw new Error(`fixture failed: ${JSON.stringify(res.errors)}`);
      return res.data!;
    };
    fx.archId = (
      await ok<{ createArchitecture: { id: string } }>(CREATE, {
        input: arch({
          name: 'bad-input-arch',
          blocks: [{ kind: 'CONV', filters: 4 }, { kind: 'MAX_POOL' }],
        }),
      })
    ).createArchitecture.id;
    fx.presetId = (
      await ok<{ architecture: { id: string } }>(`{ architecture(name: "VGG-16/CIFAR-10") { id } }`)
    ).architecture.id;
    const startRun = async () =>
      (await ok<{ startTraining: { id: string } }>(START, { input: trainInput() })).startTraining
        .id;
    fx.queuedRunId = await startRun();
    fx.cancelledRunId = await startRun();
    await ok(CANCEL_RUN, { id: fx.cancelledRunId });
    // No runner here: a run is marked SUCCEEDED by hand so that startProbe's checks can be reached.
    fx.succeededRunId = await startRun();
    const key = Number(Buffer.from(fx.succeededRunId, 'base64url').toString().split(':')[1]);
    await t.server.store.rows(
      sql`update training_runs set status = 'SUCCEEDED', finished_at = now() where id = ${key}`,
    );
    await t.server.store.rows(sql`update jobs set status = 'succeeded' where run_id = ${key}`);
    fx.cancelledProbeId = (
      await ok<{ startProbe: { id: string } }>(START_PROBE, {
        input: { runId: fx.succeededRunId, headEpochs: 1 },
      })
    ).startProbe.id;
    await ok(CANCEL_PROBE, { id: fx.cancelledProbeId });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it.each(MAIN_CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    await check(t, c);
  });

  it('still serves after the battery', async () => {
    const res = await t.gql<{ architectures: { totalCount: number } }>(
      `{ architectures { totalCount } }`,
    );
    expect(res.errors).toBeUndefined();
    expect(res.data!.architectures.totalCount).toBeGreaterThan(3);
    const base = t.server.url.replace(/\/graphql$/, '');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });
});

/** An IDX file of unsigned bytes: the header of `dims`, then `values` bytes (default: all). */
function idx(dims: readonly number[], values?: number): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.alloc(values ?? dims.reduce((a, b) => a * b, 1))]);
}

describe('keys, launch rate and corrupt dataset files on a second server', () => {
  let t: TestServer;
  let data: string;

  beforeAll(async () => {
    data = mkdtempSync(join(tmpdir(), 'filterscope-bad-data-'));
    // Fashion-MNIST: the training images claim 60000 images and hold 2.
    const fashion = join(data, 'fashion-mnist');
    mkdirSync(fashion);
    writeFileSync(join(fashion, 'train-images-idx3-ubyte'), idx([60_000, 28, 28], 2 * 28 * 28));
    writeFileSync(join(fashion, 'train-labels-idx1-ubyte'), idx([2]));
    writeFileSync(join(fashion, 't10k-images-idx3-ubyte'), idx([2, 28, 28]));
    writeFileSync(join(fashion, 't10k-labels-idx1-ubyte'), idx([2]));
    // CIFAR-10: the first batch ends 100 bytes into its third 3073-byte record.
    const cifar = join(data, 'cifar-10-batches-bin');
    mkdirSync(cifar);
    writeFileSync(join(cifar, 'data_batch_1.bin'), Buffer.alloc(2 * 3073 + 100));
    for (const name of [
      'data_batch_2',
      'data_batch_3',
      'data_batch_4',
      'data_batch_5',
      'test_batch',
    ])
      writeFileSync(join(cifar, `${name}.bin`), Buffer.alloc(3073));
    t = await startTestServer('pglite', {
      FILTERSCOPE_API_KEYS: `writer=${WRITE},reader=${READ}:read`,
      FILTERSCOPE_LAUNCHES_PER_MINUTE: String(LAUNCHES_PER_MINUTE),
      FILTERSCOPE_DATA: data,
      FILTERSCOPE_RUNNERS: '1',
      FILTERSCOPE_BACKEND: 'cpu',
    });
  });
  afterAll(async () => {
    await t?.stop();
    rmSync(data, { recursive: true, force: true });
  });

  it.each(KEYED_CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    await check(t, c);
  });

  it('accepts a corrupt file dataset (only presence is checked), then fails the run naming the file and what was wrong; the server stays up', async () => {
    const gql = <T>(query: string, variables?: Record<string, unknown>) =>
      t.gql<T>(query, variables, bearer(WRITE));
    // The catalog layer only looks for the files: both datasets are listed as available.
    const listed = await gql<{
      datasets: { name: string; available: boolean; location: string }[];
    }>(`{ datasets { name available location } }`);
    const byName = new Map(listed.data!.datasets.map((d) => [d.name, d]));
    expect(byName.get('fashion-mnist')).toMatchObject({
      available: true,
      location: join(data, 'fashion-mnist'),
    });
    expect(byName.get('cifar-10')).toMatchObject({
      available: true,
      location: join(data, 'cifar-10-batches-bin'),
    });

    const presets = await gql<{ a: { id: string }; b: { id: string } }>(
      `{ a: architecture(name: "VGG-6/28x28x1") { id } b: architecture(name: "VGG-16/CIFAR-10") { id } }`,
    );
    const start = async (architectureId: string, dataset: string) => {
      const res = await gql<{ startTraining: { id: string; status: string } }>(
        `mutation($input: StartTrainingInput!) { startTraining(input: $input) { id status } }`,
        // Three attempts allowed: a corrupt file is a permanent failure and gets only one.
        { input: { architectureId, dataset, maxAttempts: 3, hyperparameters: { epochs: 1 } } },
      );
      expect(res.errors).toBeUndefined();
      expect(res.data!.startTraining.status).toBe('QUEUED');
      return res.data!.startTraining.id;
    };
    const fashionRun = await start(presets.data!.a.id, 'fashion-mnist');
    const cifarRun = await start(presets.data!.b.id, 'cifar-10');

    const finished = async (id: string) => {
      for (let waited = 0; waited < 60_000; waited += 250) {
        const res = await gql<{ run: { status: string; error: string | null } }>(
          `query($id: ID!) { run(id: $id) { status error } }`,
          { id },
        );
        const run = res.data!.run;
        if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(run.status)) return run;
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error(`run ${id} did not finish within 60 s`);
    };
    const fashion = await finished(fashionRun);
    expect(fashion.status).toBe('FAILED');
    expect(fashion.error).toContain(join(data, 'fashion-mnist', 'train-images-idx3-ubyte'));
    expect(fashion.error).toMatch(
      /expected 47040016 bytes .*found the end of the file after 1584 bytes/,
    );
    const cifar = await finished(cifarRun);
    expect(cifar.status).toBe('FAILED');
    expect(cifar.error).toContain(join(data, 'cifar-10-batches-bin', 'data_batch_1.bin'));
    expect(cifar.error).toMatch(/3073-byte record.*found a truncated record of 100 bytes/);
    for (const error of [fashion.error!, cifar.error!])
      for (const leak of LEAKS) expect(error).not.toMatch(leak);
    const attempts = await t.server.store.rows<{ attempts: number; status: string }>(
      sql`select attempts, status from jobs order by id`,
    );
    expect(attempts.slice(-2)).toEqual([
      { attempts: 1, status: 'failed' },
      { attempts: 1, status: 'failed' },
    ]);
    seen.push({ name: 'corrupt IDX file', code: 'run FAILED', status: null });
    seen.push({ name: 'corrupt CIFAR file', code: 'run FAILED', status: null });

    // The runner survived the first failure (it ran the second job); the API still answers.
    const base = t.server.url.replace(/\/graphql$/, '');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const after = await gql<{ runs: { totalCount: number } }>(`{ runs { totalCount } }`);
    expect(after.data!.runs.totalCount).toBe(2);
  });
});
