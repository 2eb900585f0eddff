import { sql } from 'drizzle-orm';
import type { Client } from 'graphql-ws';
import { collect, startTestServer, type TestServer } from '../helpers/server.js';

/**
 * Cancels that stop: a running run or probe stops at the end of the batch in progress when its
 * cancel is committed, in its first epoch and in its last, and a cancel that was answered never
 * ends SUCCEEDED. The lease is 120 s, so heartbeats come every 30 s: only the cancel's own
 * wake-up (a NOTIFY at commit) can stop the job in time. Batches are made slow (about a second),
 * so that "within one batch" is a real bound and the batches after the cancel are counted by
 * the engine itself (`batchesAfterCancel`).
 */
jest.setTimeout(300_000);

interface Event {
  sequence: number;
  type: string;
  status: string | null;
  at: string;
  epoch: number | null;
  layer?: string | null;
  reason: string | null;
  batchesAfterCancel: number | null;
  step?: { epoch: number; batch: number; batches: number } | null;
}

const RUN_EVENTS = `subscription($id: ID!, $after: Int) { trainingProgress(runId: $id, afterSequence: $after) {
  sequence type status at epoch reason batchesAfterCancel step { epoch batch batches } } }`;
const PROBE_EVENTS = `subscription($id: ID!, $after: Int) { probeProgress(probeId: $id, afterSequence: $after) {
  sequence type status at epoch layer reason batchesAfterCancel } }`;

/** What each cancel measured, printed for the notes. */
const measured: { what: string; batchSeconds: number; latency: number; batches: number }[] = [];

describe('cancel stops within one batch', () => {
  let t: TestServer;
  let archId: string;
  let ws: Client;

  beforeAll(async () => {
    t = await startTestServer('pglite', {
      FILTERSCOPE_RUNNERS: '1',
      FILTERSCOPE_LEASE_MS: '120000',
    });
    ws = t.ws();
    const arch = await t.gql<{ createArchitecture: { id: string } }>(
      `mutation { createArchitecture(input: { name: "cancel-slow", inputShape: [32, 32, 3], labels: 4, blocks: [
        { kind: CONV, filters: 32 }, { kind: CONV, filters: 32 }, { kind: MAX_POOL },
        { kind: CONV, filters: 32 }, { kind: MAX_POOL }] }) { id } }`,
    );
    archId = arch.data!.createArchitecture.id;
  });
  afterAll(async () => {
    await t?.stop();
    console.log(
      'cancel latency (commit to CANCELLED)\n' +
        measured
          .map(
            (m) =>
              `  ${m.what.padEnd(28)} batch ${m.batchSeconds.toFixed(2)} s, stopped ${m.latency.toFixed(2)} s after the commit, ${m.batches} batch(es) after it`,
          )
          .join('\n'),
    );
  });

  const startRun = async (epochs: number, trainSize: number): Promise<string> => {
    const res = await t.gql<{ startTraining: { id: string } }>(
      `mutation($a: ID!, $e: Int!, $n: Int!) { startTraining(input: { architectureId: $a, dataset: "procedural",
        datasetOptions: { imageSize: 32, labels: 4, trainSize: $n, testSize: 64 },
        hyperparameters: { epochs: $e, batchSize: 128, augmentation: NONE } }) { id status } }`,
      { a: archId, e: epochs, n: trainSize },
    );
    if (res.errors) throw new Error(JSON.stringify(res.errors));
    return res.data!.startTraining.id;
  };

  const cancelRun = (id: string) =>
    t.gql<{ cancelRun: { status: string } }>(
      `mutation($id: ID!) { cancelRun(id: $id) { status } }`,
      { id },
    );

  /** Seconds between two events' `at`. */
  const between = (a: Event, b: Event): number => (Date.parse(b.at) - Date.parse(a.at)) / 1000;

  /** The median time between consecutive STEP events of one epoch: one batch each when slow. */
  const batchSeconds = (events: Event[]): number => {
    const steps = events.filter((e) => e.type === 'STEP');
    const gaps: number[] = [];
    for (let i = 1; i < steps.length; i++) {
      const [a, b] = [steps[i - 1]!, steps[i]!];
      if (a.step!.epoch === b.step!.epoch && b.step!.batch === a.step!.batch + 1)
        gaps.push(between(a, b));
    }
    gaps.sort((x, y) => x - y);
    return gaps[Math.floor(gaps.length / 2)] ?? NaN;
  };

  async function cancelDuringEpoch(epochs: number, cancelEpoch: number, what: string) {
    const id = await startRun(epochs, 1280);
    const before = await collect<Event>(
      ws,
      RUN_EVENTS,
      { id },
      { until: (e) => e.type === 'STEP' && e.step!.epoch === cancelEpoch && e.step!.batch >= 3 },
    );
    const first = await cancelRun(id);
    expect(first.errors).toBeUndefined();
    expect(first.data!.cancelRun.status).toBe('CANCELLING');
    // A second cancel answers the same state, not an error.
    const second = await cancelRun(id);
    expect(second.errors).toBeUndefined();
    expect(['CANCELLING', 'CANCELLED']).toContain(second.data!.cancelRun.status);
    const after = await collect<Event>(ws, RUN_EVENTS, {
      id,
      after: before.items.at(-1)!.sequence,
    });
    const statuses = after.items.filter((e) => e.type === 'STATUS');
    expect(statuses.map((e) => e.status)).toEqual(['CANCELLING', 'CANCELLED']);
    const [cancelling, cancelled] = statuses as [Event, Event];
    expect(cancelled.epoch).toBe(cancelEpoch - 1);
    expect(cancelled.batchesAfterCancel).not.toBeNull();
    expect(cancelled.batchesAfterCancel!).toBeLessThanOrEqual(1);
    // No epoch finished between the cancel and the stop: the partial one is not checkpointed.
    expect(after.items.filter((e) => e.type === 'EPOCH' || e.type === 'CHECKPOINT')).toEqual([]);
    const batch = batchSeconds([...before.items, ...after.items]);
    measured.push({
      what,
      batchSeconds: batch,
      latency: between(cancelling, cancelled),
      batches: cancelled.batchesAfterCancel!,
    });

    const run = await t.gql<{
      run: { status: string; epoch: number; metrics: { epoch: number }[] };
    }>(`query($id: ID!) { run(id: $id) { status epoch metrics { epoch } } }`, { id });
    expect(run.data!.run).toMatchObject({ status: 'CANCELLED', epoch: cancelEpoch - 1 });
    expect(run.data!.run.metrics).toHaveLength(cancelEpoch - 1);
    const key = Number(Buffer.from(id, 'base64url').toString().split(':')[1]);
    const checkpoints = await t.server.store.rows<{ epoch: number }>(
      sql`select epoch from checkpoints where run_id = ${key} and complete order by epoch`,
    );
    expect(checkpoints.map((c) => c.epoch)).toEqual(cancelEpoch > 1 ? [cancelEpoch - 1] : []);
    return id;
  }

  it('stops a run in its first epoch within one batch of the commit, keeping nothing of the partial epoch', async () => {
    await cancelDuringEpoch(2, 1, 'run, first epoch');
  });

  it('stops a run in its last epoch within one batch and ends CANCELLED (never SUCCEEDED), keeping the checkpoint of the epoch before', async () => {
    await cancelDuringEpoch(2, 2, 'run, last epoch');
  });

  describe('a probe', () => {
    let runId: string;
    beforeAll(async () => {
      runId = await startRun(1, 512);
      const events = await collect<Event>(ws, RUN_EVENTS, { id: runId });
      expect(events.items.at(-1)?.status).toBe('SUCCEEDED');
    });

    const startProbe = async (): Promise<string> => {
      const res = await t.gql<{ startProbe: { id: string } }>(
        `mutation($r: ID!) { startProbe(input: { runId: $r, headEpochs: 3, batchSize: 512, layers: ["conv1", "conv2"], afterPooling: false }) { id } }`,
        { r: runId },
      );
      if (res.errors) throw new Error(JSON.stringify(res.errors));
      return res.data!.startProbe.id;
    };

    async function cancelProbeAt(until: (e: Event) => boolean, what: string) {
      const id = await startProbe();
      const before = await collect<Event>(ws, PROBE_EVENTS, { id }, { until });
      const started = Date.now();
      const answer = await t.gql<{ cancelProbe: { status: string } }>(
        `mutation($id: ID!) { cancelProbe(id: $id) { status } }`,
        { id },
      );
      expect(answer.data!.cancelProbe.status).toBe('CANCELLING');
      const after = await collect<Event>(ws, PROBE_EVENTS, {
        id,
        after: before.items.at(-1)!.sequence,
      });
      const statuses = after.items.filter((e) => e.type === 'STATUS');
      expect(statuses.map((e) => e.status)).toEqual(['CANCELLING', 'CANCELLED']);
      const [cancelling, cancelled] = statuses as [Event, Event];
      expect(cancelled.batchesAfterCancel).not.toBeNull();
      expect(cancelled.batchesAfterCancel!).toBeLessThanOrEqual(1);
      // No head epoch finished after the cancel.
      expect(after.items.filter((e) => e.type === 'HEAD_EPOCH')).toEqual([]);
      measured.push({
        what,
        batchSeconds: NaN,
        latency: between(cancelling, cancelled),
        batches: cancelled.batchesAfterCancel!,
      });
      expect(Date.now() - started).toBeLessThan(30_000);
    }

    it('stops in its first head epoch within one batch', async () => {
      await cancelProbeAt(
        (e) => e.type === 'STATUS' && e.status === 'RUNNING',
        'probe, first head epoch',
      );
    });

    it('stops in its last head epoch within one batch', async () => {
      await cancelProbeAt(
        (e) => e.type === 'HEAD_EPOCH' && e.epoch === 2 && e.layer === 'conv2',
        'probe, last head epoch',
      );
    });
  });
});
