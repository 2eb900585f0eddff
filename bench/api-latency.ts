/**
 * Responsiveness of the API while a run trains on the embedded runner: 200 sequential `run(id)`
 * queries over HTTP, idle and then during training, in the same process and run.
 * Run: npm run bench:api. Prints a table of p50 / p99 / max latency.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { startServer } from '../src/server/app.js';

const QUERIES = Number(process.env.BENCH_QUERIES ?? 200);

async function main(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'filterscope-bench-api-'));
  const config = loadConfig({
    ...process.env,
    PORT: '0',
    FILTERSCOPE_HOME: home,
    FILTERSCOPE_RUNNERS: '1',
    DATABASE_URL: process.env.DATABASE_URL ?? '',
  });
  const server = await startServer(config, createLogger('warn'));
  const gql = async <T>(query: string, variables: Record<string, unknown> = {}): Promise<T> => {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data: T; errors?: unknown };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data;
  };
  const { createArchitecture } = await gql<{ createArchitecture: { id: string } }>(
    `mutation { createArchitecture(input: { name: "bench-vgg", inputShape: [32, 32, 3], labels: 10,
      blocks: [{ kind: CONV, filters: 32 }, { kind: CONV, filters: 32 }, { kind: MAX_POOL }, { kind: CONV, filters: 64 }, { kind: MAX_POOL }] }) { id } }`,
  );
  const ARCH = `{ architecture(name: "VGG-6/28x28x1") { name layers { name outputShape } } }`;
  const sample = async (
    query: string,
    variables: Record<string, unknown> = {},
  ): Promise<number[]> => {
    const times: number[] = [];
    for (let i = 0; i < QUERIES; i++) {
      const started = performance.now();
      await gql(query, variables);
      times.push(performance.now() - started);
    }
    return times.sort((a, b) => a - b);
  };
  // Baseline: nothing queued, the runner idle.
  const idle = await sample(ARCH);
  const { startTraining } = await gql<{ startTraining: { id: string } }>(
    `mutation($a: ID!) { startTraining(input: { architectureId: $a, dataset: "procedural",
      datasetOptions: { trainSize: 4096, testSize: 512 }, hyperparameters: { epochs: 50, batchSize: 64 } }) { id } }`,
    { a: createArchitecture.id },
  );
  const RUN = `query($id: ID!) { run(id: $id) { status epoch backend metrics { epoch testSR } } }`;
  for (;;) {
    const { run } = await gql<{ run: { status: string } }>(RUN, { id: startTraining.id });
    if (run.status === 'RUNNING') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const busyArch = await sample(ARCH);
  const busyRun = await sample(RUN, { id: startTraining.id });
  const { run } = await gql<{ run: { epoch: number; backend: string } }>(RUN, {
    id: startTraining.id,
  });
  const q = (xs: number[], p: number) =>
    xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!.toFixed(1);
  const row = (phase: string, query: string, xs: number[]) =>
    console.log(`| ${phase} | ${query} | ${q(xs, 50)} | ${q(xs, 99)} | ${xs.at(-1)!.toFixed(1)} |`);
  console.log(
    `API latency, ${QUERIES} sequential queries each, ${server.store.kind}, training on ${run.backend} (epoch ${run.epoch} reached)`,
  );
  console.log('| phase | query | p50 ms | p99 ms | max ms |');
  console.log('| --- | --- | --- | --- | --- |');
  row('idle', 'architecture(name) + layers', idle);
  row('while training', 'architecture(name) + layers', busyArch);
  row('while training', 'run(id) + metrics', busyRun);
  console.log(
    `ratio (p50 while training / idle, same query): ${(Number(q(busyArch, 50)) / Number(q(idle, 50))).toFixed(2)}`,
  );
  await gql(`mutation($id: ID!) { cancelRun(id: $id) { status } }`, { id: startTraining.id });
  await server.close();
  rmSync(home, { recursive: true, force: true });
}

void main();
