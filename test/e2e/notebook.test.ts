import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { collect, startTestServer, type TestServer } from '../helpers/server.js';

/**
 * The README's notebook snippets (examples/notebook.py) against a live keyed server: requests over
 * HTTP, websocket-client over graphql-ws, pandas over the CSV exports.
 */
jest.setTimeout(180_000);
const PYTHON = '/usr/bin/python3';
const run = promisify(execFile);

describe('examples/notebook.py', () => {
  let t: TestServer;
  const KEY = 'notebook-secret-0123456789';
  const auth = { authorization: `Bearer ${KEY}` };

  beforeAll(async () => {
    const missing = await run(PYTHON, ['-c', 'import requests, websocket, pandas']).then(
      () => null,
      (error: Error) => error.message,
    );
    if (!existsSync(PYTHON) || missing)
      throw new Error(
        `${PYTHON} with requests, websocket-client and pandas is needed (apt-get install python3-requests python3-websocket python3-pandas): ${missing}`,
      );
    t = await startTestServer('pglite', {
      FILTERSCOPE_RUNNERS: '1',
      FILTERSCOPE_API_KEYS: `notebook=${KEY}`,
    });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('follows a run live, then reads its metrics and a probe’s filters into pandas', async () => {
    const arch = await t.gql<{ createArchitecture: { id: string } }>(
      `mutation { createArchitecture(input: { name: "nb", inputShape: [8, 8, 3], labels: 4,
        blocks: [{ kind: CONV, filters: 4 }, { kind: MAX_POOL }, { kind: CONV, filters: 6 }] }) { id } }`,
      {},
      auth,
    );
    const started = await t.gql<{ startTraining: { id: string } }>(
      `mutation($a: ID!) { startTraining(input: { architectureId: $a, dataset: "procedural",
        datasetOptions: { imageSize: 8, labels: 4, trainSize: 256, testSize: 64 },
        hyperparameters: { epochs: 3, batchSize: 32, augmentation: NONE } }) { id } }`,
      { a: arch.data!.createArchitecture.id },
      auth,
    );
    const runId = started.data!.startTraining.id;
    // The script follows the run while it trains.
    const env = { ...process.env, FILTERSCOPE_URL: t.server.url, FILTERSCOPE_API_KEY: KEY };
    const first = await run(PYTHON, ['examples/notebook.py', runId], { env, timeout: 120_000 });
    expect(first.stdout).toMatch(/epoch 1: test SR 0\.\d{3}\nepoch 2: .*\nepoch 3: /);
    expect(first.stdout).toContain('status SUCCEEDED');
    expect(first.stdout).toContain('metrics.csv: 3 rows');

    const probe = await t.gql<{ startProbe: { id: string } }>(
      `mutation($r: ID!) { startProbe(input: { runId: $r, headEpochs: 1 }) { id } }`,
      { r: runId },
      auth,
    );
    const probeId = probe.data!.startProbe.id;
    const done = await collect<{ status: string | null }>(
      t.ws(auth),
      `subscription($p: ID!) { probeProgress(probeId: $p) { status } }`,
      { p: probeId },
    );
    expect(done.items.at(-1)?.status).toBe('SUCCEEDED');
    const second = await run(PYTHON, ['examples/notebook.py', runId, probeId], {
      env,
      timeout: 120_000,
    });
    expect(second.stdout).toContain('filters.csv: 10 rows');
    expect(second.stdout).toMatch(/conv1\s+4\s/);
    expect(second.stdout).toMatch(/conv2\s+6\s/);
  });
});
