import { createServer } from 'node:net';
import postgres from 'postgres';
import { endpointOf } from '../../src/cli/graphql-client.js';
import { followSubscription } from '../../src/cli/subscriptions.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { startServer, type RunningServer } from '../../src/server/app.js';
import { freshHome, freshPostgresDatabase, TEST_DATABASE_URL } from '../helpers/database.js';

/**
 * Faults while clients watch a run: a server restart (clients resume with afterSequence), and a
 * PostgreSQL outage under postgres.js (the server recovers, subscriptions resume). Runner SIGKILLs
 * mid-epoch are in kill.test.ts.
 */
jest.setTimeout(300_000);

type Event = {
  sequence: number;
  type: string;
  status: string | null;
  epoch: number | null;
  metrics: { epoch: number } | null;
};
const PROGRESS = `subscription($id: ID!, $after: Int) { trainingProgress(runId: $id, afterSequence: $after) {
  sequence type status epoch metrics { epoch } } }`;
const FINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);
const EPOCHS = 6;

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });

async function gql<T>(url: string, query: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, ...((await res.json()) as { data?: T; errors?: unknown[] }) };
}

async function startRun(url: string): Promise<string> {
  const arch = await gql<{ createArchitecture: { id: string } }>(
    url,
    `mutation { createArchitecture(input: { name: "faulty", inputShape: [16, 16, 3], labels: 4,
      blocks: [{ kind: CONV, filters: 8 }, { kind: MAX_POOL }, { kind: CONV, filters: 8 }] }) { id } }`,
  );
  const run = await gql<{ startTraining: { id: string } }>(
    url,
    `mutation($a: ID!) { startTraining(input: { architectureId: $a, dataset: "procedural",
      datasetOptions: { imageSize: 16, labels: 4, trainSize: 768, testSize: 128, seed: 3 },
      hyperparameters: { epochs: ${EPOCHS}, batchSize: 32, augmentation: NONE }, maxAttempts: 5 }) { id } }`,
    { a: arch.data!.createArchitecture.id },
  );
  expect(run.errors).toBeUndefined();
  return run.data!.startTraining.id;
}

/** `n` clients following the run through every fault; each resolves with what it saw. */
function followers(url: string, runId: string, n: number) {
  return Array.from({ length: n }, () => {
    const seen: Event[] = [];
    const done = followSubscription<Event>({
      endpoint: endpointOf(url, null),
      query: PROGRESS,
      variables: { id: runId },
      field: 'trainingProgress',
      isFinal: (e) => e.type === 'STATUS' && FINAL.has(e.status ?? ''),
      onEvent: (e) => seen.push(e),
      retryForMs: 60_000,
    });
    return { seen, done };
  });
}

const until = async (what: string, check: () => boolean | Promise<boolean>, ms = 120_000) => {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

/** Every client saw the whole history once, in order, and the run trained each epoch once. */
async function expectNothingLost(
  url: string,
  runId: string,
  clients: ReturnType<typeof followers>,
) {
  const results = await Promise.all(clients.map((c) => c.done));
  expect(results.map((r) => r.final.status)).toEqual(clients.map(() => 'SUCCEEDED'));
  const history: Event[] = [];
  await followSubscription<Event>({
    endpoint: endpointOf(url, null),
    query: PROGRESS,
    variables: { id: runId },
    field: 'trainingProgress',
    isFinal: (e) => e.type === 'STATUS' && FINAL.has(e.status ?? ''),
    onEvent: (e) => history.push(e),
    retryForMs: 10_000,
  });
  const sequences = history.map((e) => e.sequence);
  expect(sequences).toEqual(Array.from({ length: sequences.length }, (_, i) => i + 1));
  for (const c of clients) expect(c.seen.map((e) => e.sequence)).toEqual(sequences);
  const epochs = history.filter((e) => e.type === 'EPOCH').map((e) => e.metrics!.epoch);
  expect(epochs).toEqual(Array.from({ length: EPOCHS }, (_, i) => i + 1));
  return { results, history };
}

describe('faults while clients subscribe', () => {
  const log = createLogger('error');

  it('server restart: clients resume with afterSequence and lose nothing; the run resumes', async () => {
    const home = freshHome();
    const config: Config = loadConfig({
      PORT: String(await freePort()),
      FILTERSCOPE_HOME: home.home,
      FILTERSCOPE_RUNNERS: '1',
      FILTERSCOPE_THREADS: '1',
    });
    let server: RunningServer = await startServer(config, log);
    try {
      const runId = await startRun(server.url);
      const clients = followers(server.url, runId, 5);
      await until('epoch 2', () =>
        clients.every((c) => c.seen.some((e) => e.type === 'EPOCH' && e.metrics!.epoch >= 2)),
      );
      await server.close();
      await new Promise((r) => setTimeout(r, 1000));
      server = await startServer(config, log);
      const { results, history } = await expectNothingLost(server.url, runId, clients);
      for (const r of results) expect(r.reconnects).toBeGreaterThanOrEqual(1);
      // The restarted runner resumed from a checkpoint instead of starting over.
      expect(history.filter((e) => e.type === 'STATUS' && e.status === 'RUNNING').length).toBe(2);
    } finally {
      await server.close();
      home.cleanup();
    }
  });

  const onPostgres = TEST_DATABASE_URL === '' ? it.skip : it;
  if (TEST_DATABASE_URL === '')
    console.warn('TEST_DATABASE_URL is not set: the PostgreSQL outage test is skipped');

  onPostgres(
    'PostgreSQL outage: connections killed and refused for 3 s; the server recovers and subscriptions resume',
    async () => {
      const pg = await freshPostgresDatabase();
      const name = new URL(pg.url).pathname.slice(1);
      const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => undefined });
      const server = await startServer(
        loadConfig({
          PORT: '0',
          DATABASE_URL: pg.url,
          FILTERSCOPE_RUNNERS: '1',
          FILTERSCOPE_THREADS: '1',
          FILTERSCOPE_LEASE_MS: '5000',
        }),
        log,
      );
      try {
        const runId = await startRun(server.url);
        const clients = followers(server.url, runId, 3);
        await until('epoch 2', () =>
          clients.every((c) => c.seen.some((e) => e.type === 'EPOCH' && e.metrics!.epoch >= 2)),
        );
        await admin.unsafe(`alter database ${name} allow_connections false`);
        await admin.unsafe(
          `select pg_terminate_backend(pid) from pg_stat_activity where datname = '${name}'`,
        );
        // While the database is away: clear errors, no crash.
        const during = await gql(server.url, `{ runs { totalCount } }`);
        expect(during.status).toBe(503);
        expect(JSON.stringify(during.errors)).toContain('SERVICE_UNAVAILABLE');
        expect(JSON.stringify(during)).not.toMatch(/\.ts:|node_modules|at /);
        const readyDuring = await fetch(server.url.replace(/graphql$/, 'readyz'));
        expect(readyDuring.status).toBe(503);
        await new Promise((r) => setTimeout(r, 3000));
        await admin.unsafe(`alter database ${name} allow_connections true`);
        await until(
          'readiness',
          async () => {
            const res = await fetch(server.url.replace(/graphql$/, 'readyz'));
            return res.status === 200;
          },
          30_000,
        );
        const after = await gql<{ runs: { totalCount: number } }>(
          server.url,
          `{ runs { totalCount } }`,
        );
        expect(after.data!.runs.totalCount).toBe(1);
        await expectNothingLost(server.url, runId, clients);
      } finally {
        await admin.unsafe(`alter database ${name} allow_connections true`).catch(() => undefined);
        await server.close();
        await admin.end();
        await pg.cleanup();
      }
    },
  );
});
