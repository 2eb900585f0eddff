import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { TEST_DATABASE_URL, freshPostgresDatabase } from '../helpers/database.js';
import { ensureBuilt, runCli, waitForReady, type CliProcess } from '../helpers/cli.js';
import { gqlAt } from '../helpers/server.js';

/**
 * A crash loses no finished work: SIGKILL the process that trains, start another, and the run
 * resumes from its last checkpoint with every epoch recorded exactly once.
 */
jest.setTimeout(900_000);
beforeAll(() => ensureBuilt());

const ARCH = `mutation { createArchitecture(input: { name: "kill-vgg", inputShape: [16, 16, 3], labels: 4,
  blocks: [{ kind: CONV, filters: 8 }, { kind: MAX_POOL }, { kind: CONV, filters: 16 }, { kind: MAX_POOL }] }) { id } }`;
const START = `mutation($a: ID!) { startTraining(input: { architectureId: $a, dataset: "procedural",
  datasetOptions: { imageSize: 16, labels: 4, trainSize: 768, testSize: 128 }, hyperparameters: { epochs: 6, batchSize: 64 } }) { id } }`;
const RUN = `query($id: ID!) { run(id: $id) { status epoch error metrics { epoch } } }`;

type RunState = {
  status: string;
  epoch: number;
  error: string | null;
  metrics: { epoch: number }[];
};
async function waitFor(
  base: string,
  id: string,
  done: (r: RunState) => boolean,
  timeoutMs: number,
  procs: CliProcess[],
): Promise<RunState> {
  const started = Date.now();
  for (;;) {
    const { run } = await gqlAt<{ run: RunState }>(`${base}/graphql`, RUN, { id });
    if (done(run)) return run;
    if (Date.now() - started > timeoutMs)
      throw new Error(
        `timed out at ${JSON.stringify(run)}\n${procs.map((p) => p.output()).join('\n---\n')}`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

const port = (offset: number) => 41_000 + ((process.pid * 7 + offset) % 9_000);

it('resumes a run after `filterscope serve` on PGlite is SIGKILLed mid-run', async () => {
  const home = mkdtempSync(join(tmpdir(), 'filterscope-kill-'));
  const env = {
    PORT: String(port(1)),
    FILTERSCOPE_HOME: home,
    DATABASE_URL: '',
    FILTERSCOPE_LEASE_MS: '3000',
  };
  const base = `http://127.0.0.1:${env.PORT}`;
  try {
    const first = runCli(['serve'], env);
    await waitForReady(`${base}/readyz`, first, 60_000);
    const { createArchitecture } = await gqlAt<{ createArchitecture: { id: string } }>(
      `${base}/graphql`,
      ARCH,
    );
    const { startTraining } = await gqlAt<{ startTraining: { id: string } }>(
      `${base}/graphql`,
      START,
      {
        a: createArchitecture.id,
      },
    );
    const before = await waitFor(base, startTraining.id, (r) => r.epoch >= 2, 300_000, [first]);
    first.child.kill('SIGKILL');
    await first.exited;

    const second = runCli(['serve'], env);
    await waitForReady(`${base}/readyz`, second, 60_000);
    const after = await gqlAt<{ run: RunState }>(`${base}/graphql`, RUN, { id: startTraining.id });
    expect(after.run.epoch).toBeGreaterThanOrEqual(before.epoch);
    const done = await waitFor(
      base,
      startTraining.id,
      (r) => ['SUCCEEDED', 'FAILED'].includes(r.status),
      600_000,
      [second],
    );
    expect(done.status).toBe('SUCCEEDED');
    expect(done.metrics.map((m) => m.epoch)).toEqual([1, 2, 3, 4, 5, 6]);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

const onPostgres = TEST_DATABASE_URL ? it : it.skip;
if (!TEST_DATABASE_URL)
  console.warn('TEST_DATABASE_URL is not set: the PostgreSQL kill test is skipped');

onPostgres(
  'resumes a run after a `filterscope worker` is SIGKILLed, on another worker, never running it twice at once',
  async () => {
    const pg = await freshPostgresDatabase();
    const home = mkdtempSync(join(tmpdir(), 'filterscope-kill-pg-'));
    const apiEnv = {
      PORT: String(port(2)),
      FILTERSCOPE_HOME: home,
      DATABASE_URL: pg.url,
      FILTERSCOPE_RUNNERS: '0',
    };
    const workerEnv = { DATABASE_URL: pg.url, FILTERSCOPE_LEASE_MS: '3000' };
    const base = `http://127.0.0.1:${apiEnv.PORT}`;
    const api = runCli(['serve'], apiEnv);
    const procs: CliProcess[] = [api];
    try {
      await waitForReady(`${base}/readyz`, api, 60_000);
      const { createArchitecture } = await gqlAt<{ createArchitecture: { id: string } }>(
        `${base}/graphql`,
        ARCH,
      );
      const { startTraining } = await gqlAt<{ startTraining: { id: string } }>(
        `${base}/graphql`,
        START,
        {
          a: createArchitecture.id,
        },
      );
      const w1 = runCli(['worker'], workerEnv);
      procs.push(w1);
      await waitFor(base, startTraining.id, (r) => r.epoch >= 2, 300_000, procs);
      w1.child.kill('SIGKILL');
      await w1.exited;
      // Two workers share the queue now; only one may hold the job.
      const w2 = runCli(['worker'], workerEnv);
      const w3 = runCli(['worker'], workerEnv);
      procs.push(w2, w3);
      const done = await waitFor(
        base,
        startTraining.id,
        (r) => ['SUCCEEDED', 'FAILED'].includes(r.status),
        600_000,
        procs,
      );
      expect(done.status).toBe('SUCCEEDED');
      expect(done.metrics.map((m) => m.epoch)).toEqual([1, 2, 3, 4, 5, 6]);
      const sql = postgres(pg.url, { max: 1 });
      const resumed =
        await sql`select payload from events where topic = ${`run:${Buffer.from(startTraining.id, 'base64url').toString().split(':')[1]}`} and type = 'status' order by sequence`;
      await sql.end();
      const running = resumed.filter((r) => (r.payload as { status: string }).status === 'RUNNING');
      expect(running.length).toBe(2);
      expect(
        (running[1]!.payload as { resumedFromEpoch: number }).resumedFromEpoch,
      ).toBeGreaterThanOrEqual(2);
    } finally {
      for (const p of procs) p.child.kill('SIGTERM');
      await Promise.all(procs.map((p) => p.exited));
      await pg.cleanup();
      rmSync(home, { recursive: true, force: true });
    }
  },
);
