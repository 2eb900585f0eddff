import { sql } from 'drizzle-orm';
import { databaseKinds } from '../helpers/database.js';
import { collect, startTestServer, type TestServer } from '../helpers/server.js';

/**
 * Phase 1 through the API: a real embedded runner trains a small VGG on the procedural dataset in
 * an engine thread while clients watch over graphql-ws.
 */
jest.setTimeout(600_000);
describe.each(databaseKinds())('training on %s', (kind) => {
  let t: TestServer;
  let archId: string;

  beforeAll(async () => {
    t = await startTestServer(kind, { FILTERSCOPE_RUNNERS: '1', FILTERSCOPE_LEASE_MS: '4000' });
    const res = await t.gql<{ createArchitecture: { id: string } }>(
      `mutation($input: CreateArchitectureInput!) { createArchitecture(input: $input) { id } }`,
      {
        input: {
          name: `e2e-small-vgg-${kind}`,
          inputShape: [16, 16, 3],
          labels: 4,
          blocks: [
            { kind: 'CONV', filters: 8 },
            { kind: 'MAX_POOL' },
            { kind: 'CONV', filters: 16 },
            { kind: 'MAX_POOL' },
          ],
        },
      },
    );
    archId = res.data!.createArchitecture.id;
  });
  afterAll(async () => {
    await t?.stop();
  });

  const START = `mutation($input: StartTrainingInput!) { startTraining(input: $input) { id status epochs hyperparameters { epochs batchSize learningRate momentum weightDecay augmentation schedule { kind } seed } } }`;
  const PROGRESS = `subscription($runId: ID!, $after: Int) { trainingProgress(runId: $runId, afterSequence: $after) {
    sequence type status at epoch sizeBytes error reason backend finalTestSR bestTestSR
    metrics { epoch trainLoss trainSR testLoss testSR learningRate wallSeconds } step { epoch batch batches loss } } }`;
  const RUN = `query($id: ID!) { run(id: $id) { id status epoch epochs backend device finalTestSR bestTestSR error startedAt finishedAt
    metrics { epoch testSR trainLoss } } }`;

  type Event = {
    sequence: number;
    type: string;
    status: string | null;
    epoch: number | null;
    finalTestSR: number | null;
    metrics: { epoch: number; testSR: number } | null;
  };
  type Run = {
    id: string;
    status: string;
    epoch: number;
    backend: string;
    finalTestSR: number;
    metrics: { epoch: number; testSR: number }[];
  };

  const startRun = async (epochs: number, trainSize = 384) => {
    const res = await t.gql<{ startTraining: { id: string; status: string } }>(START, {
      input: {
        architectureId: archId,
        dataset: 'procedural',
        datasetOptions: { imageSize: 16, labels: 4, trainSize, testSize: 128 },
        hyperparameters: { epochs, batchSize: 64 },
      },
    });
    expect(res.errors).toBeUndefined();
    return res.data!.startTraining;
  };
  const run = async (id: string) => (await t.gql<{ run: Run }>(RUN, { id })).data!.run;

  it('trains a small VGG, streams every epoch, and reports the SR that run(id) stores', async () => {
    // Read the present sequence, start the run, then subscribe after that sequence: the run's
    // QUEUED, though committed before the subscription, is not missed.
    const from = (await t.gql<{ runUpdatesSequence: number }>(`{ runUpdatesSequence }`)).data!
      .runUpdatesSequence;
    const started = await startRun(3);
    const updates = collect<{ runId: string; status: string }>(
      t.ws(),
      `subscription($after: Int) { runUpdated(afterSequence: $after) { sequence runId status } }`,
      { after: from },
      { until: (u) => u.status === 'SUCCEEDED' && u.runId === started.id },
    );
    expect(started.status).toBe('QUEUED');
    const { items, errors } = await collect<Event>(t.ws(), PROGRESS, { runId: started.id });
    const seen = await updates;
    expect(seen.items.filter((u) => u.runId === started.id).map((u) => u.status)).toEqual([
      'QUEUED',
      'RUNNING',
      'SUCCEEDED',
    ]);
    expect(errors).toEqual([]);
    const statuses = items.filter((e) => e.type === 'STATUS').map((e) => e.status);
    expect(statuses).toEqual(['QUEUED', 'RUNNING', 'SUCCEEDED']);
    expect(items.filter((e) => e.type === 'EPOCH').map((e) => e.metrics!.epoch)).toEqual([1, 2, 3]);
    expect(items.filter((e) => e.type === 'CHECKPOINT').map((e) => e.epoch)).toEqual([1, 2, 3]);
    expect(items.map((e) => e.sequence)).toEqual(items.map((_, i) => i + 1));

    const stored = await run(started.id);
    const last = items.at(-1)!;
    expect(stored.status).toBe('SUCCEEDED');
    expect(stored.finalTestSR).toBe(last.finalTestSR);
    expect(stored.metrics.map((m) => m.epoch)).toEqual([1, 2, 3]);
    expect(stored.metrics.at(-1)!.testSR).toBe(stored.finalTestSR);
    expect(stored.backend).toMatch(/^(wasm|cpu|tensorflow|tensorflow-gpu)$/);
    // keepCheckpoints defaults to 2: the newest two complete checkpoints stay, epochs 2 and 3.
    const runKey = Number(Buffer.from(started.id, 'base64url').toString().split(':')[1]);
    const kept = await t.server.store.rows<{ epoch: number; complete: boolean }>(
      sql`select epoch, complete from checkpoints where run_id = ${runKey} order by epoch`,
    );
    expect(kept).toEqual([
      { epoch: 2, complete: true },
      { epoch: 3, complete: true },
    ]);

    // A late subscriber replays the whole history; with afterSequence it gets only the rest.
    const replay = await collect<Event>(t.ws(), PROGRESS, { runId: started.id });
    expect(replay.items).toEqual(items);
    const tail = await collect<Event>(t.ws(), PROGRESS, { runId: started.id, after: 4 });
    expect(tail.items).toEqual(items.slice(4));

    const conflict = await t.gql(`mutation($id: ID!) { cancelRun(id: $id) { status } }`, {
      id: started.id,
    });
    expect(conflict.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    const del = await t.gql(`mutation($id: ID!) { deleteArchitecture(id: $id) }`, { id: archId });
    expect(del.errors?.[0]?.extensions?.code).toBe('CONFLICT');
  });

  it('records the procedural generator version, and reads a run stored without one as version 1', async () => {
    const started = await startRun(1);
    await collect<Event>(t.ws(), PROGRESS, { runId: started.id });
    const options = async () =>
      (
        await t.gql<{ run: { datasetOptions: Record<string, unknown> } }>(
          `query($id: ID!) { run(id: $id) { datasetOptions } }`,
          { id: started.id },
        )
      ).data!.run.datasetOptions;
    const given = { imageSize: 16, labels: 4, trainSize: 384, testSize: 128 };
    expect(await options()).toEqual({ ...given, generatorVersion: 2 });
    // What a run stored before generator versions existed looks like in the database.
    const runKey = Number(Buffer.from(started.id, 'base64url').toString().split(':')[1]);
    await t.server.store.rows(
      sql`update training_runs set dataset_options = dataset_options - 'generatorVersion' where id = ${runKey}`,
    );
    expect(await options()).toEqual({ ...given, generatorVersion: 1 });
  });

  it('loses nothing when a subscriber drops and resubscribes with afterSequence', async () => {
    const started = await startRun(3);
    const first = await collect<Event>(t.ws(), PROGRESS, { runId: started.id }, { stopAfter: 3 });
    expect(first.items).toHaveLength(3);
    const lastSeen = first.items.at(-1)!.sequence;
    const rest = await collect<Event>(t.ws(), PROGRESS, { runId: started.id, after: lastSeen });
    const full = await collect<Event>(t.ws(), PROGRESS, { runId: started.id });
    expect([...first.items, ...rest.items]).toEqual(full.items);
    expect(full.items.at(-1)!.status).toBe('SUCCEEDED');
  });

  it('cancels a queued run (it never starts) and a running one (it keeps its checkpoint), then runs the next', async () => {
    const long = await startRun(40, 1024);
    const queued = await startRun(2);
    // Let the long run finish an epoch, so the queued one really waits behind it.
    await collect<Event>(
      t.ws(),
      PROGRESS,
      { runId: long.id },
      { until: (e) => e.type === 'CHECKPOINT' },
    );

    const cancelQueued = await t.gql<{ cancelRun: { status: string } }>(
      `mutation($id: ID!) { cancelRun(id: $id) { status } }`,
      { id: queued.id },
    );
    expect(cancelQueued.data?.cancelRun.status).toBe('CANCELLED');
    const queuedEvents = await collect<Event>(t.ws(), PROGRESS, { runId: queued.id });
    expect(queuedEvents.items.map((e) => e.status)).toEqual(['QUEUED', 'CANCELLED']);

    const cancelRunning = await t.gql<{ cancelRun: { status: string } }>(
      `mutation($id: ID!) { cancelRun(id: $id) { status } }`,
      { id: long.id },
    );
    expect(cancelRunning.data?.cancelRun.status).toBe('CANCELLING');
    const longEvents = await collect<Event>(t.ws(), PROGRESS, { runId: long.id });
    const end = longEvents.items.at(-1)!;
    expect(end.status).toBe('CANCELLED');
    expect(longEvents.items.filter((e) => e.type === 'STATUS').map((e) => e.status)).toEqual([
      'QUEUED',
      'RUNNING',
      'CANCELLING',
      'CANCELLED',
    ]);
    const stopped = await run(long.id);
    expect(stopped.status).toBe('CANCELLED');
    expect(stopped.epoch).toBeGreaterThanOrEqual(1);
    expect(stopped.epoch).toBeLessThan(40);
    expect(stopped.metrics).toHaveLength(stopped.epoch);

    // The runner is free again.
    const next = await startRun(1);
    const nextEvents = await collect<Event>(t.ws(), PROGRESS, { runId: next.id });
    expect(nextEvents.items.at(-1)!.status).toBe('SUCCEEDED');
  });

  describe('startTraining refuses bad input with a coded error and queues nothing', () => {
    const count = async () =>
      (await t.gql<{ runs: { totalCount: number } }>(`{ runs(first: 1) { totalCount } }`)).data!
        .runs.totalCount;
    const cases: [string, () => Record<string, unknown>, string, string][] = [
      [
        'an unknown architecture id',
        () => ({ architectureId: 'QXJjaGl0ZWN0dXJlOjk5OTk5', dataset: 'procedural' }),
        'NOT_FOUND',
        'QXJjaGl0ZWN0dXJlOjk5OTk5',
      ],
      [
        'a malformed id',
        () => ({ architectureId: 'garbage', dataset: 'procedural' }),
        'BAD_USER_INPUT',
        'input.architectureId',
      ],
      [
        'an unknown dataset',
        () => ({ architectureId: archId, dataset: 'imagenet' }),
        'BAD_USER_INPUT',
        'imagenet',
      ],
      [
        'an input shape that does not fit',
        () => ({ architectureId: archId, dataset: 'procedural' }),
        'BAD_USER_INPUT',
        '16x16x3',
      ],
      [
        'a label count that does not fit',
        () => ({
          architectureId: archId,
          dataset: 'procedural',
          datasetOptions: { imageSize: 16, labels: 5 },
        }),
        'BAD_USER_INPUT',
        '5',
      ],
      [
        'options for a file dataset',
        () => ({ architectureId: archId, dataset: 'mnist', datasetOptions: { labels: 4 } }),
        'BAD_USER_INPUT',
        'input.',
      ],
      [
        'zero epochs',
        () => ({
          architectureId: archId,
          dataset: 'procedural',
          datasetOptions: { imageSize: 16, labels: 4 },
          hyperparameters: { epochs: 0 },
        }),
        'BAD_USER_INPUT',
        'input.hyperparameters.epochs',
      ],
      [
        'a negative learning rate',
        () => ({
          architectureId: archId,
          dataset: 'procedural',
          datasetOptions: { imageSize: 16, labels: 4 },
          hyperparameters: { learningRate: -0.1 },
        }),
        'BAD_USER_INPUT',
        'input.hyperparameters.learningRate',
      ],
      [
        'a huge batch',
        () => ({
          architectureId: archId,
          dataset: 'procedural',
          datasetOptions: { imageSize: 16, labels: 4 },
          hyperparameters: { batchSize: 1_000_000 },
        }),
        'BAD_USER_INPUT',
        'input.hyperparameters.batchSize',
      ],
      [
        'momentum of 1',
        () => ({
          architectureId: archId,
          dataset: 'procedural',
          datasetOptions: { imageSize: 16, labels: 4 },
          hyperparameters: { momentum: 1 },
        }),
        'BAD_USER_INPUT',
        'input.hyperparameters.momentum',
      ],
      [
        'a fractional seed',
        () => ({
          architectureId: archId,
          dataset: 'procedural',
          datasetOptions: { imageSize: 16, labels: 4 },
          hyperparameters: { seed: 1.5 },
        }),
        'BAD_USER_INPUT',
        'input.hyperparameters.seed',
      ],
      [
        'a step schedule with a milestone past the end',
        () => ({
          architectureId: archId,
          dataset: 'procedural',
          datasetOptions: { imageSize: 16, labels: 4 },
          hyperparameters: { epochs: 5, schedule: { kind: 'STEP', milestones: [9] } },
        }),
        'BAD_USER_INPUT',
        'input.hyperparameters.schedule',
      ],
      [
        'a procedural image size of 4',
        () => ({
          architectureId: archId,
          dataset: 'procedural',
          datasetOptions: { imageSize: 4, labels: 4 },
        }),
        'BAD_USER_INPUT',
        'input.datasetOptions.imageSize',
      ],
      [
        'a procedural generator version that does not exist',
        () => ({
          architectureId: archId,
          dataset: 'procedural',
          datasetOptions: { imageSize: 16, labels: 4, generatorVersion: 3 },
        }),
        'BAD_USER_INPUT',
        'input.datasetOptions.generatorVersion',
      ],
      [
        'keepCheckpoints of 0',
        () => ({
          architectureId: archId,
          dataset: 'procedural',
          datasetOptions: { imageSize: 16, labels: 4 },
          keepCheckpoints: 0,
        }),
        'BAD_USER_INPUT',
        'input.keepCheckpoints',
      ],
    ];
    it.each(cases)('%s', async (_name, input, code, mention) => {
      const before = await count();
      const res = await t.gql(START, { input: input() });
      expect(res.errors?.[0]?.extensions?.code).toBe(code);
      expect(res.errors?.[0]?.message).toContain(mention);
      expect(await count()).toBe(before);
    });
  });
});
