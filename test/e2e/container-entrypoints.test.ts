import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { parse as parseYaml } from 'yaml';
import { parseApiKeys } from '../../src/config.js';
import { ROOT, ensureBuilt, runNode, waitForReady, type CliProcess } from '../helpers/cli.js';
import { TEST_DATABASE_URL, freshHome, freshPostgresDatabase } from '../helpers/database.js';

/**
 * No Docker engine here, so this runs what the images would run: each image's CMD from the
 * repository root (the images' WORKDIR holds the same files), with the environment a container
 * of the compose service gets (the image's ENV, then the service's environment). Only what must
 * differ on a test machine is replaced: DATABASE_URL (a fresh test database), PORT (a free one),
 * the container paths of FILTERSCOPE_HOME and FILTERSCOPE_DATA, and the worker's backend (wasm:
 * no GPU). test/unit/containers.test.ts checks the form of these files; this reads them simply.
 */
jest.setTimeout(180_000);

/** Stands for `${FILTERSCOPE_API_KEYS:?...}`, as a user's shell or docker/.env would. */
const API_KEYS = 'admin=compose-entrypoint-secret-0123456789:write';

interface RuntimeStage {
  readonly env: Record<string, string>;
  readonly cmd: string[];
  readonly healthcheck: string[] | null;
}

/** ENV, CMD and HEALTHCHECK CMD of a Dockerfile's last stage. */
function runtimeStage(file: string): RuntimeStage {
  const lines = readFileSync(join(ROOT, file), 'utf8')
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\[ \t]*\n/g, '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const last = lines.map((l) => /^FROM\s/i.test(l)).lastIndexOf(true);
  const stage = lines.slice(last + 1);
  const env: Record<string, string> = {};
  let cmd: string[] = [];
  let healthcheck: string[] | null = null;
  for (const line of stage) {
    const [keyword = '', args = ''] = /^(\S+)\s+(.*)$/.exec(line)?.slice(1) ?? [];
    if (/^ENV$/i.test(keyword))
      for (const pair of args.split(/\s+/)) {
        if (!/^\w+=[^"'\s]*$/.test(pair)) throw new Error(`${file}: ENV ${pair} is not simple`);
        const eq = pair.indexOf('=');
        env[pair.slice(0, eq)] = pair.slice(eq + 1);
      }
    if (/^CMD$/i.test(keyword)) cmd = JSON.parse(args) as string[];
    if (/^HEALTHCHECK$/i.test(keyword))
      healthcheck = JSON.parse(args.replace(/^(--\S+\s+)*CMD\s+/i, '')) as string[];
  }
  return { env, cmd, healthcheck };
}

/** A compose service's environment, `${VAR:?}` and `${VAR:-default}` interpolated. */
function serviceEnv(service: string, vars: Record<string, string>): Record<string, string> {
  const compose = parseYaml(readFileSync(join(ROOT, 'docker/compose.yaml'), 'utf8')) as {
    services: Record<string, { environment?: Record<string, string | number> }>;
  };
  const raw = compose.services[service]?.environment ?? {};
  return Object.fromEntries(
    Object.entries(raw).map(([name, value]) => [
      name,
      String(value).replace(
        /\$\{(\w+)(?::([-?])([^}]*))?\}/g,
        (_whole, v: string, op?: string, arg?: string) => {
          const set = vars[v];
          if (set) return set;
          if (op === '-') return arg ?? '';
          throw new Error(`compose.yaml needs ${v}: ${arg ?? ''}`);
        },
      ),
    ]),
  );
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Runs an image's exec-form argv here: `node` is this Node.js, the cwd the repository root. */
function runImageCommand(argv: readonly string[], env: Record<string, string>): CliProcess {
  expect(argv[0]).toBe('node');
  // Only the container's environment, not the test runner's (PATH aside, to find nothing else).
  return runNode(argv.slice(1), { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env });
}

/** The image's HEALTHCHECK, as Docker runs it inside the container: its exit code. */
async function healthcheck(argv: readonly string[], env: Record<string, string>): Promise<number> {
  const check = runImageCommand(argv, env);
  const timer = setTimeout(() => check.child.kill('SIGKILL'), 15_000);
  const code = await check.exited;
  clearTimeout(timer);
  return typeof code === 'number' ? code : -1;
}

async function waitForOutput(proc: CliProcess, text: string, timeoutMs: number): Promise<void> {
  const started = Date.now();
  while (!proc.output().includes(text)) {
    if (proc.child.exitCode !== null) throw new Error(`exited early:\n${proc.output()}`);
    if (Date.now() - started > timeoutMs)
      throw new Error(`no "${text}" within ${timeoutMs} ms:\n${proc.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const cpu = runtimeStage('docker/Dockerfile');
const gpu = runtimeStage('docker/Dockerfile.gpu');
const onPostgres = TEST_DATABASE_URL ? it : it.skip;
if (!TEST_DATABASE_URL)
  console.warn(
    'TEST_DATABASE_URL is not set: `serve` runs on PGlite instead of the compose PostgreSQL, and the worker test is skipped',
  );

describe('the images’ entry points, run as the compose services run them', () => {
  const [key] = parseApiKeys(API_KEYS);
  const cleanups: (() => Promise<void> | void)[] = [];
  let databaseUrl = '';
  let apiEnv: Record<string, string> = {};
  let api: CliProcess;
  let base = '';

  beforeAll(async () => {
    ensureBuilt();
    const home = freshHome();
    const data = mkdtempSync(join(tmpdir(), 'filterscope-data-'));
    cleanups.push(home.cleanup, () => rmSync(data, { recursive: true, force: true }));
    if (TEST_DATABASE_URL) {
      const pg = await freshPostgresDatabase();
      databaseUrl = pg.url;
      cleanups.push(pg.cleanup);
    }
    const port = await freePort();
    apiEnv = {
      ...cpu.env,
      ...serviceEnv('api', { FILTERSCOPE_API_KEYS: API_KEYS }),
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      FILTERSCOPE_HOME: home.home,
      FILTERSCOPE_DATA: data,
    };
    base = `http://127.0.0.1:${port}`;
    api = runImageCommand(cpu.cmd, apiEnv);
    await waitForReady(`${base}/readyz`, api, 60_000);
  });

  afterAll(async () => {
    if (api?.child.exitCode === null) {
      api.child.kill('SIGKILL');
      await api.exited;
    }
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('`serve` with the api service’s environment answers /readyz and GraphQL with the compose key', async () => {
    expect(cpu.cmd).toEqual(['node', 'dist/main.js', 'serve']);
    // What compose sets, as this run saw it.
    expect(apiEnv).toMatchObject({
      HOST: '0.0.0.0',
      FILTERSCOPE_RUNNERS: '0',
      NODE_ENV: 'production',
    });
    expect((await fetch(`${base}/readyz`)).status).toBe(200);

    const query = JSON.stringify({ query: '{ datasets { name available } }' });
    const headers = { 'content-type': 'application/json' };
    const refused = await fetch(`${base}/graphql`, { method: 'POST', headers, body: query });
    expect(refused.status).toBe(401);
    const res = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { ...headers, authorization: `Bearer ${key!.secret}` },
      body: query,
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      data?: { datasets: { name: string }[] };
      errors?: unknown;
    };
    expect(body.errors).toBeUndefined();
    expect(body.data?.datasets.map((d) => d.name)).toContain('procedural');
    expect(api.output()).toContain(`"database":"${TEST_DATABASE_URL ? 'postgres' : 'pglite'}"`);
  });

  it('the image’s HEALTHCHECK command exits 0 against the live server', async () => {
    expect(cpu.healthcheck).not.toBeNull();
    expect(await healthcheck(cpu.healthcheck!, { PORT: apiEnv.PORT! })).toBe(0);
  });

  onPostgres(
    '`worker` with the worker service’s environment (wasm, no GPU) starts, claims nothing and exits 0 on SIGTERM',
    async () => {
      expect(gpu.cmd).toEqual(['node', 'dist/main.js', 'worker']);
      const env = {
        ...gpu.env,
        ...serviceEnv('worker', {}),
        DATABASE_URL: databaseUrl,
        FILTERSCOPE_DATA: apiEnv.FILTERSCOPE_DATA!,
        FILTERSCOPE_BACKEND: 'wasm',
      };
      const worker = runImageCommand(gpu.cmd, env);
      try {
        await waitForOutput(worker, 'filterscope worker is running', 60_000);
        // Long enough for an idle runner to poll the queue (every 2 s) at least once.
        await new Promise((r) => setTimeout(r, 3_000));
        const sql = postgres(databaseUrl, { max: 1, onnotice: () => undefined });
        const [leased] = await sql<
          { n: number }[]
        >`select count(*)::int as n from jobs where lease_owner is not null`;
        await sql.end();
        expect(leased!.n).toBe(0);
        expect(worker.output()).not.toMatch(/could not claim|"level":"(warn|error)"/);
      } finally {
        worker.child.kill('SIGTERM');
      }
      expect(await worker.exited).toBe(0);
    },
  );

  it('`serve` shuts down on SIGTERM (docker stop), and the HEALTHCHECK then exits non-zero', async () => {
    api.child.kill('SIGTERM');
    await api.exited;
    expect(await healthcheck(cpu.healthcheck!, { PORT: apiEnv.PORT! })).not.toBe(0);
  });

  // The container's NODE_ENV is production, not jest's `test`: this is where Apollo Server's own
  // SIGTERM handler (stopOnTerminationSignals) would re-raise the signal mid-shutdown.
  it('`serve` exits 0 after a graceful shutdown on SIGTERM', async () => {
    const code = await api.exited;
    expect({ code, stopped: api.output().includes('"msg":"stopped"') }).toEqual({
      code: 0,
      stopped: true,
    });
  });
});
