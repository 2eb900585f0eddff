/**
 * The dashboard's runs list with many runs: seeds 500 runs (names, tags, statuses, durations)
 * straight into a fresh embedded database, then in headless Chromium measures the first paint of
 * the list (navigation to its first rows) and a search typed into its box (keystroke to the
 * matching rows, 150 ms debounce included), several times each.
 * Run: npm run bench:dashboard (BENCH_RUNS, BENCH_REPEATS to change the sizes). Target: < 1 s each.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { startServer } from '../src/server/app.js';
import { trainingRuns, type RunStatus } from '../src/store/schema/index.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 500);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 5);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const STATUSES: RunStatus[] = [
  'SUCCEEDED',
  'SUCCEEDED',
  'SUCCEEDED',
  'FAILED',
  'CANCELLED',
  'QUEUED',
];
const SWEEPS = ['lr', 'wd', 'depth', 'width', 'seed'];

async function main(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'filterscope-bench-dash-'));
  const config = loadConfig({ PORT: '0', FILTERSCOPE_HOME: home, FILTERSCOPE_RUNNERS: '0' });
  const server = await startServer(config, createLogger('warn'));
  const origin = server.url.replace(/\/graphql$/, '');
  const gql = async <T>(query: string): Promise<T> => {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query }),
    });
    const body = (await res.json()) as { data: T; errors?: unknown };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data;
  };
  const { createArchitecture } = await gql<{ createArchitecture: { id: string } }>(
    `mutation { createArchitecture(input: { name: "bench-dash-vgg", inputShape: [16, 16, 3], labels: 4,
      blocks: [{ kind: CONV, filters: 8 }, { kind: MAX_POOL }] }) { id } }`,
  );
  const archKey = Number(
    Buffer.from(createArchitecture.id, 'base64url').toString('utf8').split(':')[1],
  );
  const now = Date.now();
  const rows = Array.from({ length: RUNS }, (_, i) => {
    const status = STATUSES[i % STATUSES.length]!;
    const started = status === 'QUEUED' ? null : new Date(now - (RUNS - i) * 60_000);
    return {
      architectureId: archKey,
      name: `${SWEEPS[i % SWEEPS.length]} sweep run ${i}`,
      tags: [`sweep:${SWEEPS[i % SWEEPS.length]}`, i % 7 === 0 ? 'baseline' : `group-${i % 13}`],
      notes: '',
      dataset: 'procedural',
      status,
      epochs: 10,
      epochsDone: status === 'QUEUED' ? 0 : 10,
      bestTestSR: status === 'SUCCEEDED' ? 0.5 + (i % 40) / 100 : null,
      startedAt: started,
      finishedAt: started && status !== 'QUEUED' ? new Date(started.getTime() + 45_000) : null,
    };
  });
  for (let i = 0; i < rows.length; i += 100)
    await server.store.db.insert(trainingRuns).values(rows.slice(i, i + 100));
  const expected = await gql<{ runs: { totalCount: number } }>(
    '{ runs(filter: { search: "baseline" }) { totalCount } }',
  );

  // The list's own query over HTTP, without the browser: what the server's share is.
  const LIST = `query($f: RunFilter) { runs(first: 50, filter: $f) { totalCount nodes { id name tags status dataset epoch epochs startedAt durationSeconds bestTestSR origin architecture { name } } } }`;
  const timeQuery = async (filter: Record<string, unknown> | null): Promise<number[]> => {
    const times: number[] = [];
    for (let r = 0; r < REPEATS; r++) {
      const started = performance.now();
      const res = await fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: LIST, variables: { f: filter } }),
      });
      await res.json();
      times.push(performance.now() - started);
    }
    return times;
  };
  const apiList = await timeQuery(null);
  const apiSearch = await timeQuery({ search: 'baseline' });

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const page = await browser.newPage();
  const paint: number[] = [];
  const search: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    await page.goto('about:blank');
    const started = performance.now();
    await page.goto(`${origin}/#/`);
    await page.waitForSelector('[data-testid="run-row"]');
    paint.push(performance.now() - started);
    const typed = performance.now();
    await page.fill('[data-testid="runs-search"]', 'baseline');
    await page.waitForSelector(
      `[data-testid="runs-summary"][data-total="${expected.runs.totalCount}"]`,
    );
    search.push(performance.now() - typed);
  }
  await browser.close();
  await server.close();
  rmSync(home, { recursive: true, force: true });

  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
  const median = (xs: number[]) => sorted(xs)[Math.floor(xs.length / 2)]!;
  const row = (what: string, xs: number[]) =>
    console.log(
      `| ${what} | ${median(xs).toFixed(0)} | ${sorted(xs).at(-1)!.toFixed(0)} | ${median(xs) < 1000 ? 'yes' : 'NO'} |`,
    );
  console.log(
    `Dashboard runs list, ${RUNS} runs (${server.store.kind}), ${REPEATS} tries each, Chromium headless; search "baseline" matches ${expected.runs.totalCount}`,
  );
  console.log('| measure | median ms | max ms | under 1 s |');
  console.log('| --- | --- | --- | --- |');
  row('first paint of the list (navigation to first rows)', paint);
  row('search typed to matching rows (150 ms debounce incl.)', search);
  row('API only: runs(first: 50), the list query', apiList);
  row('API only: runs(first: 50, filter: { search })', apiSearch);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
