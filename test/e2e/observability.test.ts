import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { startServer, type RunningServer } from '../../src/server/app.js';
import { freshHome } from '../helpers/database.js';

/** Request/job ids in the logs and the Prometheus /metrics endpoint, on a real server. */
jest.setTimeout(120_000);
describe('observability', () => {
  let server: RunningServer;
  let home: ReturnType<typeof freshHome>;
  const lines: Record<string, unknown>[] = [];
  let base: string;

  beforeAll(async () => {
    home = freshHome();
    const config = loadConfig({
      PORT: '0',
      FILTERSCOPE_HOME: home.home,
      FILTERSCOPE_RUNNERS: '1',
      FILTERSCOPE_BACKEND: 'wasm',
      FILTERSCOPE_THREADS: '1',
    });
    server = await startServer(
      config,
      createLogger('debug', {}, (line) => lines.push(JSON.parse(line) as Record<string, unknown>)),
    );
    base = server.url.replace(/\/graphql$/, '');
  });
  afterAll(async () => {
    await server?.close();
    home?.cleanup();
  });

  const post = (query: string, variables: Record<string, unknown> = {}, headers = {}) =>
    fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query, variables }),
    });

  it('answers with an x-request-id (the client’s own when it sends a sane one) and logs it', async () => {
    const mine = await post(`{ datasets { name } }`, {}, { 'x-request-id': 'notebook-42' });
    expect(mine.headers.get('x-request-id')).toBe('notebook-42');
    const generated = await post(
      `{ datasets { name } }`,
      {},
      { 'x-request-id': 'bad id with spaces' },
    );
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    await new Promise((r) => setTimeout(r, 50));
    const logged = lines.find((l) => l.msg === 'request' && l.requestId === 'notebook-42');
    expect(logged).toMatchObject({ level: 'debug', method: 'POST', url: '/graphql', status: 200 });
    expect(typeof logged!.time).toBe('string');
  });

  it('logs a training job’s lines with its job and run ids', async () => {
    const arch = (await (
      await post(`mutation { createArchitecture(input: { name: "obs", inputShape: [8, 8, 3], labels: 4,
        blocks: [{ kind: CONV, filters: 2 }] }) { id } }`)
    ).json()) as { data: { createArchitecture: { id: string } } };
    const run = (await (
      await post(
        `mutation($a: ID!) { startTraining(input: { architectureId: $a, dataset: "procedural",
          datasetOptions: { imageSize: 8, labels: 4, trainSize: 64, testSize: 32 },
          hyperparameters: { epochs: 1, batchSize: 32, augmentation: NONE } }) { id } }`,
        { a: arch.data.createArchitecture.id },
      )
    ).json()) as { data: { startTraining: { id: string } } };
    expect(run.data.startTraining.id).toBeDefined();
    const deadline = Date.now() + 90_000;
    let status = '';
    while (Date.now() < deadline && status !== 'SUCCEEDED' && status !== 'FAILED') {
      await new Promise((r) => setTimeout(r, 250));
      const body = (await (
        await post(`query($id: ID!) { run(id: $id) { status } }`, { id: run.data.startTraining.id })
      ).json()) as { data: { run: { status: string } } };
      status = body.data.run.status;
    }
    expect(status).toBe('SUCCEEDED');
    const jobLines = lines.filter(
      (l) => typeof l.jobId === 'number' && typeof l.runId === 'number',
    );
    expect(jobLines.length).toBeGreaterThan(0);
  });

  it('serves Prometheus metrics: requests, errors, live sockets, jobs, epochs, queue wait', async () => {
    await post(`mutation { cancelRun(id: "nope") { id } }`); // BAD_USER_INPUT
    await post(`{ nosuchfield }`); // GRAPHQL_VALIDATION_FAILED
    const client = createClient({ url: server.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
    const dispose = client.subscribe(
      { query: `subscription { runUpdated { sequence } }` },
      { next: () => undefined, error: () => undefined, complete: () => undefined },
    );
    await new Promise((r) => setTimeout(r, 300));
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0.0.4/);
    const text = await res.text();
    const value = (series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };
    expect(
      value('filterscope_http_requests_total{route="/graphql",method="POST",status="200"}'),
    ).toBeGreaterThanOrEqual(3);
    expect(value('filterscope_graphql_errors_total{code="BAD_USER_INPUT",transport="http"}')).toBe(
      1,
    );
    expect(
      value('filterscope_graphql_errors_total{code="GRAPHQL_VALIDATION_FAILED",transport="http"}'),
    ).toBe(1);
    expect(value('filterscope_ws_connections')).toBe(1);
    expect(value('filterscope_subscriptions_active')).toBe(1);
    expect(value('filterscope_jobs{kind="train",state="succeeded"}')).toBe(1);
    expect(value('filterscope_jobs{kind="probe",state="queued"}')).toBe(0);
    expect(value('filterscope_epoch_duration_seconds_count')).toBe(1);
    expect(value('filterscope_queue_wait_seconds_count')).toBe(1);
    expect(
      value('filterscope_http_request_duration_seconds_count{route="/graphql"}'),
    ).toBeGreaterThanOrEqual(5);
    // Every sample line is `name{labels} number`.
    for (const line of text.split('\n').filter((l) => l && !l.startsWith('#')))
      expect(line).toMatch(/^[a-z_]+(\{[^}]*\})? -?[0-9.e+-]+$/);
    dispose();
    await client.dispose();
  });
});
