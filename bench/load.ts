/**
 * Load on loopback while a run trains on the embedded runner: BENCH_HTTP_CLIENTS closed-loop HTTP
 * clients issuing a mix of four queries, and BENCH_SUBSCRIBERS graphql-ws subscribers to that
 * run's `trainingProgress`, one WebSocket each. The same HTTP mix with no training and no
 * subscribers is measured first, in the same run, as the baseline. At the end the run is
 * cancelled (every subscription then completes) and a fresh subscription replays the stored
 * events: every subscriber must have received exactly those sequences.
 *
 * Run: npm run bench:load. Environment (default): BENCH_SECONDS (30) per phase,
 * BENCH_HTTP_CLIENTS (50), BENCH_REQUESTS_PER_CLIENT (20000) per phase, whichever ends first,
 * BENCH_SUBSCRIBERS (200), BENCH_TRAIN_SIZE (procedural images per epoch, 2048), BENCH_EPOCHS
 * (cap of the run, 200; it is cancelled once measured), BENCH_TIMEOUT_SECONDS (2 x BENCH_SECONDS +
 * 110: past it the benchmark stops and exits 2), BENCH_IN_PROCESS=1 (serve from this process
 * instead of a child process), DATABASE_URL (PostgreSQL instead of a temporary PGlite).
 * Exits 1 when a subscriber missed an event or a wait timed out.
 *
 * The server runs in a child process by default so that the clients' own work (fetch, JSON, 200
 * sockets) does not sit on the server's event loop and inflate what is measured. Each subscriber
 * has its own WebSocket: the server may limit subscriptions per connection, and 200 sockets is
 * the fan-out a dashboard per user would cause.
 */
import 'reflect-metadata';
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { startServer } from '../src/server/app.js';

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${name}=${JSON.stringify(raw)} is invalid: expected a positive number`);
  return value;
}

const SECONDS = positive('BENCH_SECONDS', 30);
const HTTP_CLIENTS = Math.round(positive('BENCH_HTTP_CLIENTS', 50));
const REQUESTS_PER_CLIENT = Math.round(positive('BENCH_REQUESTS_PER_CLIENT', 20_000));
const SUBSCRIBERS = Math.round(positive('BENCH_SUBSCRIBERS', 200));
const TRAIN_SIZE = Math.round(positive('BENCH_TRAIN_SIZE', 2048));
const EPOCHS = Math.round(positive('BENCH_EPOCHS', 200));
const TIMEOUT_S = positive('BENCH_TIMEOUT_SECONDS', 2 * SECONDS + 110);
const IN_PROCESS = process.env.BENCH_IN_PROCESS === '1';
const REQUEST_TIMEOUT_MS = 10_000;
/** Set on the child process that serves. */
const ROLE = 'FILTERSCOPE_BENCH_LOAD_ROLE';

/** Wall-clock milliseconds with sub-millisecond resolution, comparable with an event's `at`. */
const now = () => performance.timeOrigin + performance.now();

// ---------------------------------------------------------------- the server, here or in a child

/** Event-loop delay percentiles in ms. */
interface LoopDelay {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

interface BenchServer {
  readonly url: string;
  readonly wsUrl: string;
  readonly database: string;
  readonly placement: string;
  /**
   * The server thread's event-loop delay since the previous call (which starts a new window); null
   * when the server did not answer within 30 s.
   */
  loopDelay(): Promise<LoopDelay | null>;
  close(): Promise<void>;
  /** Last resort for the watchdog: no graceful shutdown. */
  kill(): void;
}

type ToChild = { readonly type: 'loopDelay' } | { readonly type: 'close' };
type FromChild =
  | {
      readonly type: 'ready';
      readonly url: string;
      readonly wsUrl: string;
      readonly database: string;
    }
  | { readonly type: 'loopDelay'; readonly delay: LoopDelay }
  | { readonly type: 'closed' }
  | { readonly type: 'failed'; readonly error: string };

function takeDelay(histogram: IntervalHistogram): LoopDelay {
  const ms = (ns: number) => ns / 1e6;
  const delay = { p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)) };
  const result = { ...delay, max: ms(histogram.max) };
  histogram.reset();
  return result;
}

async function startBenchServer(home: string) {
  // No API keys: the server is open on loopback, as a fresh install is.
  const config = loadConfig({
    ...process.env,
    PORT: '0',
    FILTERSCOPE_HOME: home,
    FILTERSCOPE_RUNNERS: '1',
    FILTERSCOPE_API_KEYS: '',
    DATABASE_URL: process.env.DATABASE_URL ?? '',
  });
  return startServer(config, createLogger('warn'));
}

async function inProcessServer(home: string): Promise<BenchServer> {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  const server = await startBenchServer(home);
  return {
    url: server.url,
    wsUrl: server.wsUrl,
    database: server.store.kind,
    placement: 'in the benchmark process',
    loopDelay: async () => takeDelay(histogram),
    close: () => server.close(),
    kill: () => undefined,
  };
}

/** The child's side: serves, answers the parent's messages, dies with the parent. */
async function serveForParent(): Promise<void> {
  const send = (message: FromChild) => new Promise<void>((r) => process.send!(message, () => r()));
  process.on('disconnect', () => process.exit(1));
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  try {
    const server = await startBenchServer(process.env.FILTERSCOPE_HOME!);
    process.on('message', (message: ToChild) => {
      if (message.type === 'loopDelay')
        void send({ type: 'loopDelay', delay: takeDelay(histogram) });
      if (message.type === 'close')
        void server.close().then(async () => {
          await send({ type: 'closed' });
          process.exit(0);
        });
    });
    await send({
      type: 'ready',
      url: server.url,
      wsUrl: server.wsUrl,
      database: server.store.kind,
    });
  } catch (error) {
    await send({ type: 'failed', error: error instanceof Error ? error.stack! : String(error) });
    process.exit(1);
  }
}

async function childServer(home: string): Promise<BenchServer> {
  const child = fork(__filename, [], {
    env: { ...process.env, [ROLE]: 'server', FILTERSCOPE_HOME: home },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const reply = <K extends FromChild['type']>(type: K, timeoutMs: number) =>
    new Promise<Extract<FromChild, { type: K }>>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`server process: no '${type}' within ${timeoutMs} ms`));
      }, timeoutMs);
      const onMessage = (message: FromChild) => {
        if (message.type === 'failed') {
          done();
          reject(new Error(`server process failed: ${message.error}`));
        } else if (message.type === type) {
          done();
          resolve(message as Extract<FromChild, { type: K }>);
        }
      };
      const onExit = (code: number | null, signal: string | null) => {
        done();
        reject(new Error(`server process exited (${code ?? signal}) before '${type}'`));
      };
      child.on('message', onMessage);
      child.on('exit', onExit);
    });
  const ask = (message: ToChild) => child.send(message);
  const ready = await reply('ready', 60_000);
  return {
    url: ready.url,
    wsUrl: ready.wsUrl,
    database: ready.database,
    placement: `in a child process (pid ${child.pid})`,
    loopDelay: async () => {
      const answer = reply('loopDelay', 30_000);
      ask({ type: 'loopDelay' });
      return answer.then(
        (a) => a.delay,
        (error: unknown) => {
          log(String(error));
          return null;
        },
      );
    },
    close: async () => {
      if (child.exitCode !== null) return;
      const closed = reply('closed', 30_000);
      ask({ type: 'close' });
      await closed.catch((error: unknown) => {
        child.kill('SIGKILL');
        throw error;
      });
    },
    kill: () => child.kill('SIGKILL'),
  };
}

// ---------------------------------------------------------------- HTTP

async function gql<T>(url: string, query: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown };
  if (body.errors || !body.data) throw new Error(`HTTP ${res.status}: ${JSON.stringify(body)}`);
  return body.data;
}

interface MixQuery {
  readonly name: string;
  readonly query: string;
  /** Takes `$id`, the run's id. */
  readonly run?: boolean;
}

const MIX: readonly MixQuery[] = [
  {
    name: 'architecture(name) + layers',
    query: `{ architecture(name: "VGG-6/28x28x1") { name flops layers { name kind outputShape parameterCount } } }`,
  },
  {
    name: 'runs(first: 20)',
    query: `{ runs(first: 20) { totalCount nodes { id status epoch dataset createdAt } } }`,
  },
  {
    name: 'run(id) + metrics',
    query: `query($id: ID!) { run(id: $id) { status epoch bestTestSR metrics { epoch trainLoss testSR wallSeconds } } }`,
    run: true,
  },
  { name: 'datasets', query: `{ datasets { name available labels trainSize testSize } }` },
];

/** One request of the mix: null when it succeeded, else an error code. */
async function request(url: string, body: string): Promise<string | null> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await res.text();
    let parsed: { data?: unknown; errors?: { extensions?: { code?: string } }[] };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      return `HTTP ${res.status}, not JSON`;
    }
    const [error] = parsed.errors ?? [];
    if (error) return `${error.extensions?.code ?? 'GRAPHQL_ERROR'} (HTTP ${res.status})`;
    if (!res.ok) return `HTTP ${res.status}`;
    return parsed.data ? null : `no data (HTTP ${res.status})`;
  } catch (error) {
    const e = error as { name?: string; cause?: { code?: string } };
    if (e.name === 'TimeoutError') return `timeout (${REQUEST_TIMEOUT_MS} ms)`;
    return e.cause?.code ?? e.name ?? String(error);
  }
}

/** Requests answered and failed so far in the current phase, for the progress lines. */
const live = { requests: 0, errors: 0 };

interface HttpResult {
  readonly seconds: number;
  readonly requests: number;
  /** Latencies in ms of every request, failed ones included, sorted: all, then per query of MIX. */
  readonly latencies: number[];
  readonly byQuery: number[][];
  readonly errors: Map<string, number>;
}

/** `clients` closed loops of the mix for `seconds` or `perClient` requests, whichever ends first. */
async function httpLoad(
  url: string,
  runId: string,
  seconds: number,
  clients: number,
  perClient: number,
): Promise<HttpResult> {
  const bodies = MIX.map((q) =>
    JSON.stringify({ query: q.query, variables: q.run ? { id: runId } : {} }),
  );
  const byQuery = MIX.map(() => [] as number[]);
  const errors = new Map<string, number>();
  let requests = 0;
  live.requests = 0;
  live.errors = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const loop = async (client: number) => {
    for (let n = 0; n < perClient && performance.now() < deadline; n++) {
      const q = (client + n) % MIX.length;
      const t0 = performance.now();
      const error = await request(url, bodies[q]!);
      // Failed requests count too (a timeout as its 10 s): leaving them out would make a
      // stalled server look faster than an idle one.
      byQuery[q]!.push(performance.now() - t0);
      requests++;
      live.requests++;
      if (error !== null) {
        live.errors++;
        errors.set(error, (errors.get(error) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, c) => loop(c)));
  const elapsed = (performance.now() - started) / 1000;
  for (const xs of byQuery) xs.sort((a, b) => a - b);
  const latencies = byQuery.flat().sort((a, b) => a - b);
  return { seconds: elapsed, requests, latencies, byQuery, errors };
}

// ---------------------------------------------------------------- subscriptions

interface Delivery {
  readonly sequence: number;
  readonly type: string;
  /** The event's `at`, epoch ms. */
  readonly at: number;
  /** Receive time, epoch ms. */
  readonly received: number;
}

interface Subscriber {
  readonly deliveries: Delivery[];
  /** Resolves when the stream completes or fails. */
  readonly done: Promise<void>;
  readonly client: Client;
  completed: boolean;
  error: string | null;
}

const PROGRESS = `subscription($runId: ID!, $after: Int) {
  trainingProgress(runId: $runId, afterSequence: $after) { sequence type at } }`;

function describe(error: unknown): string {
  if (Array.isArray(error)) return error.map((e: { message?: string }) => e.message).join('; ');
  const e = error as { code?: unknown; reason?: unknown; message?: unknown } | null;
  if (typeof e?.code === 'number') return `socket closed ${e.code} ${String(e.reason ?? '')}`;
  return typeof e?.message === 'string' ? e.message : String(error);
}

/** Subscribes on its own WebSocket from sequence 0 and records every event with its receive time. */
function subscribe(wsUrl: string, runId: string): Subscriber {
  const client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    lazy: true,
    retryAttempts: 0,
  });
  let settle!: () => void;
  const done = new Promise<void>((resolve) => (settle = resolve));
  const subscriber: Subscriber = { deliveries: [], done, client, completed: false, error: null };
  client.subscribe<{ trainingProgress: { sequence: number; type: string; at: string } }>(
    { query: PROGRESS, variables: { runId, after: 0 } },
    {
      next: (value) => {
        const received = now();
        const event = value.data?.trainingProgress;
        if (value.errors) subscriber.error = describe(value.errors);
        if (event)
          subscriber.deliveries.push({
            sequence: event.sequence,
            type: event.type,
            at: Date.parse(event.at),
            received,
          });
      },
      error: (error) => {
        subscriber.error = describe(error);
        settle();
      },
      complete: () => {
        subscriber.completed = true;
        settle();
      },
    },
  );
  return subscriber;
}

// ---------------------------------------------------------------- waiting, numbers, printing

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns something, or throws naming `what` after `timeoutMs`. */
/** Failed transport of the benchmark's own polls (not the measured mix), retried and reported. */
const pollFailures = new Map<string, number>();

/**
 * Polls `probe` until it returns something, or throws naming `what` after `timeoutMs`. A poll
 * that fails in transport (fetch's TypeError: reset, refused) is counted and tried again.
 */
async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | null>) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    let value: T | null = null;
    try {
      value = await probe();
    } catch (error) {
      if (!(error instanceof TypeError)) throw error;
      const e = error as { cause?: { code?: string } };
      const code = e.cause?.code ?? error.message;
      pollFailures.set(code, (pollFailures.get(code) ?? 0) + 1);
      log(`a poll for ${what} failed (${code}); trying again`);
    }
    if (value !== null) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await sleep(100);
  }
}

/** True when `promise` settled within `ms`. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  const settled = await Promise.race([promise.then(() => true), timeout]);
  clearTimeout(timer);
  return settled;
}

/** Nearest-rank percentile of sorted `xs`. */
const pct = (xs: readonly number[], p: number) =>
  xs.length === 0 ? NaN : xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '-');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '-');

function errorsText(errors: Map<string, number>): string {
  return errors.size === 0 ? 'none' : [...errors].map(([code, n]) => `${code} x${n}`).join(', ');
}

function databaseText(kind: string): string {
  const raw = process.env.DATABASE_URL;
  if (!raw) return `${kind} (embedded, temporary folder)`;
  const url = new URL(raw);
  url.password = '';
  return `${kind} (${url.host}${url.pathname})`;
}

/** Ranges of consecutive numbers, "3-7, 9". */
function ranges(xs: readonly number[]): string {
  const out: string[] = [];
  for (let i = 0; i < xs.length;) {
    let j = i;
    while (j + 1 < xs.length && xs[j + 1] === xs[j]! + 1) j++;
    out.push(i === j ? `${xs[i]}` : `${xs[i]}-${xs[j]}`);
    i = j + 1;
  }
  return out.join(', ');
}

interface DeliveryCheck {
  readonly ok: boolean;
  readonly text: string;
}

/** Every subscriber must hold exactly the stored sequences, once each, in order, and complete. */
function checkDelivery(subscribers: readonly Subscriber[], history: Subscriber): DeliveryCheck {
  const expected = history.deliveries.map((d) => d.sequence);
  const problems: string[] = [];
  if (!history.completed || history.error)
    problems.push(`history replay ${history.error ?? 'did not complete'}`);
  if (expected.length === 0 || expected.some((s, i) => s !== i + 1))
    problems.push(`stored sequences are not 1..N: ${ranges(expected)}`);
  const expectedSet = new Set(expected);
  let failing = 0;
  subscribers.forEach((s, i) => {
    const got = s.deliveries.map((d) => d.sequence);
    const gotSet = new Set(got);
    const issues: string[] = [];
    const missing = expected.filter((x) => !gotSet.has(x));
    const extra = [...gotSet].filter((x) => !expectedSet.has(x));
    if (missing.length > 0) issues.push(`missing ${ranges(missing)}`);
    if (extra.length > 0) issues.push(`not stored ${ranges(extra)}`);
    if (gotSet.size !== got.length) issues.push(`${got.length - gotSet.size} duplicates`);
    if (got.some((x, k) => k > 0 && x <= got[k - 1]!)) issues.push('out of order');
    if (s.error) issues.push(`error: ${s.error}`);
    else if (!s.completed) issues.push('did not complete');
    if (issues.length === 0) return;
    failing++;
    if (failing <= 10) problems.push(`subscriber ${i}: ${issues.join(', ')}`);
  });
  if (failing > 10) problems.push(`and ${failing - 10} more subscribers`);
  if (failing > 0) problems.unshift(`${failing} of ${subscribers.length} subscribers`);
  return problems.length === 0
    ? { ok: true, text: 'every subscriber received every event: yes' }
    : {
        ok: false,
        text: `every subscriber received every event: no (missing: ${problems.join('; ')})`,
      };
}

/** Lag (receive - `at`) and fan-out spread of the events recorded in [from, to]. */
function lagRows(subscribers: readonly Subscriber[], from: number, to: number) {
  const firstReceived = new Map<number, number>();
  for (const s of subscribers)
    for (const d of s.deliveries)
      firstReceived.set(
        d.sequence,
        Math.min(firstReceived.get(d.sequence) ?? Infinity, d.received),
      );
  const lags = new Map<string, number[]>([['all', []]]);
  const spread: number[] = [];
  const sequences = new Set<number>();
  for (const s of subscribers)
    for (const d of s.deliveries) {
      if (d.at < from || d.at > to) continue;
      sequences.add(d.sequence);
      const lag = d.received - d.at;
      lags.get('all')!.push(lag);
      if (!lags.has(d.type)) lags.set(d.type, []);
      lags.get(d.type)!.push(lag);
      spread.push(d.received - firstReceived.get(d.sequence)!);
    }
  for (const xs of lags.values()) xs.sort((a, b) => a - b);
  spread.sort((a, b) => a - b);
  return { lags, spread, events: sequences.size };
}

// ---------------------------------------------------------------- the benchmark

let phase = 'starting';
const benchStart = performance.now();

/** Progress on stderr, so that stdout is only the report. */
function log(message: string): void {
  console.error(`[+${((performance.now() - benchStart) / 1000).toFixed(1)} s] ${message}`);
}

function step(name: string): void {
  phase = name;
  log(name);
}

/** A progress line every 5 s until the returned function is called. */
function ticker(subscribers: readonly Subscriber[]): () => void {
  const timer = setInterval(() => {
    const deliveries = subscribers.reduce((n, s) => n + s.deliveries.length, 0);
    const last = Math.max(0, ...subscribers.map((s) => s.deliveries.at(-1)?.sequence ?? 0));
    const failed = subscribers.filter((s) => s.error !== null).length;
    log(
      `  ${live.requests} requests (${live.errors} failed); ${deliveries} deliveries, ` +
        `last sequence ${last}, ${failed} subscriptions failed`,
    );
  }, 5000);
  return () => clearInterval(timer);
}

async function main(): Promise<number> {
  const wallStart = performance.now();
  const loadAtStart = os.loadavg();
  const home = mkdtempSync(join(os.tmpdir(), 'filterscope-bench-load-'));
  let server: BenchServer | null = null;
  const clients: Client[] = [];
  const watchdog = setTimeout(() => {
    console.error(`bench/load: over BENCH_TIMEOUT_SECONDS=${TIMEOUT_S} while ${phase}; stopping`);
    server?.kill();
    rmSync(home, { recursive: true, force: true });
    process.exit(2);
  }, TIMEOUT_S * 1000);
  try {
    step('starting the server');
    server = IN_PROCESS ? await inProcessServer(home) : await childServer(home);
    const { url, wsUrl } = server;
    const clientLoop = monitorEventLoopDelay({ resolution: 10 });
    clientLoop.enable();

    step('training the seed run');
    const { createArchitecture } = await gql<{ createArchitecture: { id: string } }>(
      url,
      `mutation($name: String!) { createArchitecture(input: { name: $name, inputShape: [16, 16, 3], labels: 10,
        blocks: [{ kind: CONV, filters: 16 }, { kind: MAX_POOL }, { kind: CONV, filters: 32 }, { kind: MAX_POOL }] }) { id } }`,
      { name: `bench-load-${Date.now()}` },
    );
    const start = (trainSize: number, epochs: number) =>
      gql<{ startTraining: { id: string } }>(
        url,
        `mutation($a: ID!, $train: Int!, $epochs: Int!) { startTraining(input: { architectureId: $a,
          dataset: "procedural", datasetOptions: { imageSize: 16, trainSize: $train, testSize: 256 },
          hyperparameters: { epochs: $epochs, batchSize: 64 } }) { id } }`,
        { a: createArchitecture.id, train: trainSize, epochs },
      ).then((d) => d.startTraining.id);
    const RUN = `query($id: ID!) { run(id: $id) { status epoch backend threads error } }`;
    type RunState = {
      status: string;
      epoch: number;
      backend: string | null;
      threads: number | null;
    };
    const runState = async (id: string) => (await gql<{ run: RunState }>(url, RUN, { id })).run;
    // The baseline's run(id) reads a finished run: no training while it is measured.
    const seedId = await start(256, 1);
    await waitFor('the seed run to succeed', 120_000, async () => {
      const run = await runState(seedId);
      if (['FAILED', 'CANCELLED'].includes(run.status)) throw new Error(`seed run ${run.status}`);
      return run.status === 'SUCCEEDED' ? run : null;
    });

    step('measuring the baseline');
    await httpLoad(url, seedId, Math.min(3, SECONDS), HTTP_CLIENTS, REQUESTS_PER_CLIENT);
    await server.loopDelay();
    takeDelay(clientLoop);
    const stopBaselineTicker = ticker([]);
    const baseline = await httpLoad(url, seedId, SECONDS, HTTP_CLIENTS, REQUESTS_PER_CLIENT);
    stopBaselineTicker();
    const baselineLoop = { server: await server.loopDelay(), client: takeDelay(clientLoop) };

    step('starting the run and the subscribers');
    const runId = await start(TRAIN_SIZE, EPOCHS);
    const subscribers = Array.from({ length: SUBSCRIBERS }, () => subscribe(wsUrl, runId));
    clients.push(...subscribers.map((s) => s.client));
    await waitFor('the run to be RUNNING', 120_000, async () => {
      const run = await runState(runId);
      if (!['QUEUED', 'RUNNING'].includes(run.status)) throw new Error(`run ${run.status}`);
      return run.status === 'RUNNING' ? run : null;
    });
    await waitFor('every subscriber to receive an event', 60_000, async () =>
      subscribers.every((s) => s.deliveries.length > 0 || s.error !== null || s.completed)
        ? true
        : null,
    );

    step('measuring under load');
    await server.loopDelay();
    takeDelay(clientLoop);
    const loadFrom = now();
    const stopLoadTicker = ticker(subscribers);
    const load = await httpLoad(url, runId, SECONDS, HTTP_CLIENTS, REQUESTS_PER_CLIENT);
    stopLoadTicker();
    const loadTo = now();
    const loadLoop = { server: await server.loopDelay(), client: takeDelay(clientLoop) };
    const during = await waitFor('the run state', 30_000, () => runState(runId));

    step('cancelling the run and checking delivery');
    await gql(url, `mutation($id: ID!) { cancelRun(id: $id) { status } }`, { id: runId }).catch(
      (error: unknown) => console.error(`cancelRun: ${String(error)}`),
    );
    const allDone = await within(Promise.all(subscribers.map((s) => s.done)), 60_000);
    const history = subscribe(wsUrl, runId);
    clients.push(history.client);
    const historyDone = await within(history.done, 30_000);
    const check = checkDelivery(subscribers, history);
    const final = await waitFor('the run state', 30_000, () => runState(runId));

    // ------------------------------------------------------------ report
    const cpus = os.cpus();
    console.log(`\n## filterscope load benchmark (loopback)\n`);
    console.log(
      `machine: ${cpus.length} cores (${cpus[0]?.model.trim() ?? '?'}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; ` +
        `load average ${loadAtStart.map(f2).join(' ')} at start, ${os.loadavg().map(f2).join(' ')} at end; ` +
        `node ${process.version}; database ${databaseText(server.database)}; server ${server.placement}`,
    );
    console.log(
      `run: ${during.backend ?? '?'} backend, ${during.threads ?? '?'} threads, procedural 16x16x3, ` +
        `${TRAIN_SIZE} images/epoch, batch 64; ${during.status} at the end of the load phase ` +
        `(epoch ${during.epoch}), ${final.status} after cancelRun`,
    );
    console.log(
      `\nHTTP: ${HTTP_CLIENTS} closed-loop clients (fetch, keep-alive), each for ${SECONDS} s or ` +
        `${REQUESTS_PER_CLIENT} requests; mix round-robin over ${MIX.length} queries; latency of ` +
        `every request, failed ones included (a timeout counts as ${REQUEST_TIMEOUT_MS} ms); ` +
        `run(id) reads a finished 1-epoch run in the baseline, the training run under load`,
    );
    console.log(
      '\n| phase | requests | req/s | p50 ms | p99 ms | max ms | errors | server loop delay p99 / max ms | client loop delay p99 ms |',
    );
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    const httpRow = (name: string, r: HttpResult, loop: typeof baselineLoop) =>
      console.log(
        `| ${name} | ${r.requests} | ${f1(r.requests / r.seconds)} | ${f1(pct(r.latencies, 50))} | ` +
          `${f1(pct(r.latencies, 99))} | ${f1(r.latencies.at(-1) ?? NaN)} | ${errorsText(r.errors)} | ` +
          `${loop.server ? `${f1(loop.server.p99)} / ${f1(loop.server.max)}` : 'no answer in 30 s'} | ${f1(loop.client.p99)} |`,
      );
    httpRow('baseline: no training, no subscribers', baseline, baselineLoop);
    httpRow(`under load: training + ${SUBSCRIBERS} subscribers`, load, loadLoop);
    const ratio = (a: number, b: number) => f2(a / b);
    console.log(
      `\nratio under load / baseline: throughput ${ratio(load.requests / load.seconds, baseline.requests / baseline.seconds)}, ` +
        `p50 ${ratio(pct(load.latencies, 50), pct(baseline.latencies, 50))}, ` +
        `p99 ${ratio(pct(load.latencies, 99), pct(baseline.latencies, 99))}`,
    );
    console.log(
      '\n| query | baseline p50 ms | baseline p99 ms | load p50 ms | load p99 ms | load max ms |',
    );
    console.log('| --- | --- | --- | --- | --- | --- |');
    MIX.forEach((q, i) => {
      const b = baseline.byQuery[i]!;
      const l = load.byQuery[i]!;
      console.log(
        `| ${q.name} | ${f1(pct(b, 50))} | ${f1(pct(b, 99))} | ${f1(pct(l, 50))} | ${f1(pct(l, 99))} | ${f1(l.at(-1) ?? NaN)} |`,
      );
    });

    const { lags, spread, events } = lagRows(subscribers, loadFrom, loadTo);
    console.log(
      `\nSubscriptions: ${SUBSCRIBERS} subscribers to trainingProgress, one WebSocket each, from ` +
        `afterSequence 0; ${history.deliveries.length} events stored; lag over the ${events} events ` +
        `recorded while the HTTP load ran. lag = receive time - the event's \`at\` (its row's ` +
        `created_at, i.e. its transaction's start; one machine clock, ms resolution)`,
    );
    console.log('\n| events | deliveries | lag p50 ms | lag p99 ms | lag max ms | lag min ms |');
    console.log('| --- | --- | --- | --- | --- | --- |');
    for (const [type, xs] of lags)
      console.log(
        `| ${type} | ${xs.length} | ${f1(pct(xs, 50))} | ${f1(pct(xs, 99))} | ${f1(xs.at(-1) ?? NaN)} | ${f1(xs[0] ?? NaN)} |`,
      );
    console.log(
      `| fan-out spread (receive - first subscriber's receive of that event) | ${spread.length} | ` +
        `${f1(pct(spread, 50))} | ${f1(pct(spread, 99))} | ${f1(spread.at(-1) ?? NaN)} | - |`,
    );
    if (!allDone) console.log('\nnot every subscription completed within 60 s of cancelRun');
    if (!historyDone) console.log('\nthe history replay did not complete within 30 s');
    if (pollFailures.size > 0)
      console.log(
        `\nthe benchmark's own polls failed and were retried: ${errorsText(pollFailures)}`,
      );
    console.log(`\n${check.text}`);
    console.log(`wall time ${f1((performance.now() - wallStart) / 1000)} s`);
    return check.ok && allDone && historyDone ? 0 : 1;
  } catch (error) {
    console.error(`bench/load failed while ${phase}:`, error);
    return 1;
  } finally {
    // dispose() rejects for a socket that never connected.
    await Promise.allSettled(clients.map(async (c) => c.dispose()));
    await server?.close().catch((error: unknown) => console.error('closing the server:', error));
    rmSync(home, { recursive: true, force: true });
    clearTimeout(watchdog);
  }
}

if (process.env[ROLE] === 'server') void serveForParent();
else void main().then((code) => process.exit(code));
