import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, runCli, waitForReady } from '../helpers/cli.js';

/**
 * The real `filterscope serve` as a user starts it: a fresh FILTERSCOPE_HOME (new PGlite), SIGTERM,
 * and a restart on the same home that still has what was created.
 */
jest.setTimeout(120_000);
const PORT = 40_000 + (process.pid % 10_000);
const base = `http://127.0.0.1:${PORT}`;
let home: string;

beforeAll(() => {
  ensureBuilt();
  home = mkdtempSync(join(tmpdir(), 'filterscope-cli-'));
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

const post = async (query: string) => {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  });
  return (await res.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
};

it('serves on a fresh home within 30 s, stops cleanly on SIGTERM, and keeps its data across a restart', async () => {
  const env = { PORT: String(PORT), FILTERSCOPE_HOME: home, DATABASE_URL: '' };
  const first = runCli(['serve'], env);
  const startedIn = await waitForReady(`${base}/readyz`, first, 30_000);
  console.log(`filterscope serve on a fresh home was ready in ${startedIn} ms`);
  const created = await post(
    `mutation { createArchitecture(input: { name: "survives-restart", inputShape: [8, 8, 1], labels: 3, blocks: [{ kind: CONV, filters: 4 }] }) { id } }`,
  );
  expect(created.errors).toBeUndefined();

  // A second server on the same home is refused while the first runs.
  const second = runCli(['serve'], { ...env, PORT: String(PORT + 1) });
  expect(await second.exited).toBe(1);
  expect(second.output()).toMatch(/in use by another filterscope process/);

  first.child.kill('SIGTERM');
  expect(await first.exited).toBe(0);
  expect(first.output()).toMatch(/"msg":"stopped"/);

  const again = runCli(['serve'], env);
  await waitForReady(`${base}/readyz`, again, 30_000);
  const found = await post(`{ architecture(name: "survives-restart") { name layers { name } } }`);
  expect(found.data).toEqual({
    architecture: {
      name: 'survives-restart',
      layers: [{ name: 'conv1' }, { name: 'flatten1' }, { name: 'classifier' }],
    },
  });
  again.child.kill('SIGINT');
  expect(await again.exited).toBe(0);
});

it('rejects a bad environment variable naming it and its value', async () => {
  const proc = runCli(['serve'], { PORT: 'eighty', FILTERSCOPE_HOME: home });
  expect(await proc.exited).toBe(1);
  expect(proc.output()).toContain('PORT="eighty" is invalid');
});
