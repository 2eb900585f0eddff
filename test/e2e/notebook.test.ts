import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { collect, startTestServer, type TestServer } from '../helpers/server.js';

/**
 * The README's notebook snippets (examples/notebook.py) against a live keyed server: requests over
 * HTTP, websocket-client over graphql-ws (through a server restart), pandas over the CSV exports.
 */
jest.setTimeout(240_000);
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

  it('follows a run live through a server restart, each event once, then reads its metrics and a probe’s filters into pandas', async () => {
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
    // The script follows the run while it trains; the server restarts (graceful shutdown, 1.5 s
    // down, same home and port) once the first epoch is printed.
    const env = { ...process.env, FILTERSCOPE_URL: t.server.url, FILTERSCOPE_API_KEY: KEY };
    const script = spawn(PYTHON, ['-u', 'examples/notebook.py', runId], { env });
    let stdout = '';
    let stderr = '';
    script.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    script.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => script.on('exit', resolve));
    const deadline = Date.now() + 60_000;
    while (!/^epoch 1: /m.test(stdout)) {
      if (Date.now() > deadline || script.exitCode !== null)
        throw new Error(`no epoch 1 from the script:\n${stdout}\n${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const down = Date.now();
    await t.restart(1500);
    const downSeconds = (Date.now() - down) / 1000;
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      exited,
      new Promise<string>(
        (resolve) => (timer = setTimeout(() => resolve('still running'), 120_000)),
      ),
    ]);
    clearTimeout(timer);
    if (code !== 0) script.kill();
    expect({ code, stderr }).toEqual({ code: 0, stderr: expect.any(String) as string });

    // It lost the connection and came back, waiting 0.5 s, 1 s, 2 s ... at most 10 s between
    // attempts while the server was down: a handful of attempts, not a busy loop.
    const delays = [...stderr.matchAll(/^connection lost .* in ([\d.]+) s$/gm)].map((m) =>
      Number(m[1]),
    );
    expect(delays.length).toBeGreaterThanOrEqual(1);
    expect(delays).toEqual(delays.map((_, i) => Math.min(0.5 * 2 ** i, 10)));
    // The waits before the last failed attempt fit in the time the server was down.
    expect(delays.slice(0, -1).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(downSeconds + 1);
    // Every event of the run's history exactly once, in order, and each epoch once.
    const history = await collect<{ sequence: number }>(
      t.ws(auth),
      `subscription($r: ID!) { trainingProgress(runId: $r, afterSequence: 0) { sequence } }`,
      { r: runId },
    );
    const n = history.items.length;
    expect(history.items.map((e) => e.sequence)).toEqual(
      Array.from({ length: n }, (_, i) => i + 1),
    );
    expect(stdout).toContain(`events: ${n}, sequences 1-${n}\n`);
    expect([...stdout.matchAll(/^epoch (\d+): test SR 0\.\d{3}$/gm)].map((m) => m[1])).toEqual([
      '1',
      '2',
      '3',
    ]);
    expect(stdout).toMatch(/status SUCCEEDED\nevents: /);
    expect(stdout).toContain('metrics.csv: 3 rows');
    console.log(
      `notebook.py across a restart (down ${downSeconds.toFixed(1)} s):\n${stdout}${stderr}`,
    );

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
      env: { ...env, FILTERSCOPE_URL: t.server.url },
      timeout: 120_000,
    });
    expect(second.stdout).toContain('filters.csv: 10 rows');
    expect(second.stdout).toMatch(/conv1\s+4\s/);
    expect(second.stdout).toMatch(/conv2\s+6\s/);
  });
});
