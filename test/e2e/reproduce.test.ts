import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, runCli, waitForReady, type CliProcess } from '../helpers/cli.js';
import { freshHome } from '../helpers/database.js';
import { csvRecords } from '../helpers/csv.js';
import { gqlAt } from '../helpers/server.js';

/**
 * `filterscope reproduce` as a user runs it: a child process that drives a live `filterscope
 * serve` through GraphQL only. The server is stopped (SIGTERM) mid-training and started again on
 * the same home and port; reproduce resubscribes where it left off, the run resumes from its
 * checkpoint, and the report has every epoch once and the API's numbers.
 */
jest.setTimeout(300_000);

// Below the ephemeral range (32768+), so that no outgoing connection takes it during the restart.
const PORT = 20_000 + ((process.pid * 11) % 9_000);
const BASE = `http://127.0.0.1:${PORT}`;
const URL_ = `${BASE}/graphql`;
const EPOCHS = 5;

let home: { home: string; cleanup: () => void };
let work: string;
let server: CliProcess | null = null;
const servers: CliProcess[] = [];

const serverEnv = () => ({
  PORT: String(PORT),
  FILTERSCOPE_HOME: home.home,
  DATABASE_URL: '',
  FILTERSCOPE_RUNNERS: '1',
  FILTERSCOPE_LOG_LEVEL: 'warn',
});

async function startServe(): Promise<void> {
  server = runCli(['serve'], serverEnv());
  servers.push(server);
  await waitForReady(`${BASE}/readyz`, server, 60_000);
}

/** Resolves once `proc`'s output matches `pattern` (or rejects when it exits first). */
async function outputMatches(proc: CliProcess, pattern: RegExp, timeoutMs: number): Promise<void> {
  const started = Date.now();
  while (!pattern.test(proc.output())) {
    if (proc.child.exitCode !== null)
      throw new Error(`exited (${proc.child.exitCode}) before ${pattern}:\n${proc.output()}`);
    if (Date.now() - started > timeoutMs)
      throw new Error(`no ${pattern} within ${timeoutMs} ms:\n${proc.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  ensureBuilt();
  home = freshHome();
  work = mkdtempSync(join(tmpdir(), 'filterscope-reproduce-'));
  await startServe();
});
afterAll(async () => {
  for (const s of servers) if (s.child.exitCode === null) s.child.kill('SIGTERM');
  await Promise.all(servers.map((s) => s.exited));
  home?.cleanup();
  if (work) rmSync(work, { recursive: true, force: true });
});

type ApiFilter = {
  index: number;
  silent: boolean;
  snr: number | null;
  signal: number;
  noise: number;
};
type ApiLayer = {
  id: string;
  layerName: string;
  successRate: number;
  snr: number | null;
  meanNoise: number | null;
  silentFilters: number;
  afcc: { keptFraction: number; srAfter: number };
  filters: { totalCount: number; nodes: ApiFilter[] };
};

it('trains, probes and reports through the API, surviving a server restart mid-training', async () => {
  const archFile = join(work, 'arch.json');
  writeFileSync(
    archFile,
    JSON.stringify({
      name: `reproduce-e2e-${process.pid}`,
      inputShape: [16, 16, 3],
      labels: 4,
      blocks: [
        { kind: 'CONV', filters: 8 },
        { kind: 'CONV', filters: 8 },
        { kind: 'MAX_POOL' },
        { kind: 'CONV', filters: 16 },
        { kind: 'MAX_POOL' },
        { kind: 'CONV', filters: 16 },
        { kind: 'MAX_POOL' },
      ],
    }),
  );
  const out = join(work, 'report');
  const started = Date.now();
  const reproduce = runCli(
    [
      'reproduce',
      '--url',
      URL_,
      '--retry-for',
      '90',
      ...['--dataset', 'procedural', '--image-size', '16', '--labels', '4', '--data-seed', '7'],
      ...['--train', '3000', '--test', '512', '--arch', archFile],
      ...[
        '--epochs',
        String(EPOCHS),
        '--batch-size',
        '32',
        '--lr',
        '0.02',
        '--augmentation',
        'none',
      ],
      ...['--head-epochs', '3', '--heatmaps', '2', '--out', out],
    ],
    { FILTERSCOPE_API_KEY: '' },
  );

  // Stop the server once epoch 1 is reported, and start it again on the same home and port.
  await outputMatches(reproduce, /phase 1 epoch 1\/5:/, 120_000);
  server!.child.kill('SIGTERM');
  expect(await server!.exited).toBe(0);
  await startServe();
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    reproduce.exited,
    new Promise((r) => (timer = setTimeout(() => r('timeout'), 200_000))),
  ]);
  clearTimeout(timer);
  if (code === 'timeout') reproduce.child.kill('SIGTERM');
  const seconds = Math.round((Date.now() - started) / 1000);
  console.log(`reproduce took ${seconds} s with a server restart:\n${reproduce.output()}`);
  expect(code).toBe(0);
  expect(reproduce.output().trim().split('\n').at(-1)).toBe(out);
  // stderr is not a terminal here: plain lines, no cursor movement
  expect(reproduce.output()).not.toContain('\x1b[');
  expect(reproduce.output()).toMatch(/lost the training stream/);

  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as {
    run: { id: string; backend: string; finalTestSR: number; durationSeconds: number };
    probe: { id: string; layers: { layerName: string; successRate: number }[] };
    command: { seconds: number };
    heatmaps: Record<
      string,
      { best: { index: number; file: string }[]; worst: { index: number; file: string }[] }
    >;
    stream: { training: { epochEvents: number[]; reconnects: number; duplicatesDropped: number } };
  };
  // Every epoch exactly once: in the events reproduce saw across the restart, and in its tables.
  expect(report.stream.training.epochEvents).toEqual([1, 2, 3, 4, 5]);
  expect(report.stream.training.reconnects).toBeGreaterThanOrEqual(1);
  expect(report.stream.training.duplicatesDropped).toBe(0);
  const training = csvRecords(readFileSync(join(out, 'training.csv'), 'utf8'));
  expect(training.map((r) => Number(r.epoch))).toEqual([1, 2, 3, 4, 5]);

  // The numbers are the API's.
  const api = await gqlAt<{
    run: {
      finalTestSR: number;
      backend: string;
      metrics: { epoch: number; testSR: number; trainLoss: number }[];
    };
    probe: { status: string; layers: ApiLayer[] };
  }>(
    URL_,
    `query($r: ID!, $p: ID!) { run(id: $r) { finalTestSR backend metrics { epoch testSR trainLoss } }
      probe(id: $p) { status layers { id layerName successRate snr meanNoise silentFilters afcc { keptFraction srAfter }
        filters(first: 200) { totalCount nodes { index silent snr signal noise } } } } }`,
    { r: report.run.id, p: report.probe.id },
  );
  expect(api.probe.status).toBe('SUCCEEDED');
  expect(report.run.finalTestSR).toBe(api.run.finalTestSR);
  expect(report.run.backend).toBe(api.run.backend);
  expect(training.map((r) => [Number(r.epoch), Number(r.testSR), Number(r.trainLoss)])).toEqual(
    api.run.metrics.map((m) => [m.epoch, m.testSR, m.trainLoss]),
  );

  const layers = csvRecords(readFileSync(join(out, 'layers.csv'), 'utf8'));
  expect(layers.map((l) => l.layer)).toEqual(['conv1', 'conv2', 'conv3', 'conv4']);
  expect(readFileSync(join(out, 'layers.md'), 'utf8')).toMatch(/^\| layer \| probePoint \|/);
  const filters = csvRecords(readFileSync(join(out, 'filters.csv'), 'utf8'));
  const filtersJson = JSON.parse(readFileSync(join(out, 'filters.json'), 'utf8')) as {
    layer: string;
    index: number;
    snr: number | null;
    matrix: number[][];
  }[];
  expect(filtersJson).toHaveLength(8 + 8 + 16 + 16);
  const num = (text: string | undefined) =>
    text === '' || text === undefined ? null : Number(text);
  for (const layer of api.probe.layers) {
    const row = layers.find((l) => l.layer === layer.layerName)!;
    expect(num(row.successRate)).toBe(layer.successRate);
    expect(num(row.snr)).toBe(layer.snr);
    expect(num(row.meanNoise)).toBe(layer.meanNoise);
    expect(num(row.silentFilters)).toBe(layer.silentFilters);
    expect(num(row.afccKeptFraction)).toBe(layer.afcc.keptFraction);
    expect(num(row.filters)).toBe(layer.filters.totalCount);
    expect(report.probe.layers.find((l) => l.layerName === layer.layerName)!.successRate).toBe(
      layer.successRate,
    );

    const mine = filters.filter((f) => f.layer === layer.layerName);
    expect(mine).toHaveLength(layer.filters.totalCount);
    expect(
      mine.map((f) => [
        Number(f.index),
        num(f.snr),
        Number(f.signal),
        Number(f.noise),
        f.silent === 'true',
      ]),
    ).toEqual(layer.filters.nodes.map((f) => [f.index, f.snr, f.signal, f.noise, f.silent]));
    const json = filtersJson.filter((f) => f.layer === layer.layerName);
    expect(json.map((f) => f.snr)).toEqual(layer.filters.nodes.map((f) => f.snr));
    expect(json[0]!.matrix).toHaveLength(4);

    // Heatmaps of the best and worst filters by SNR (non-silent, with noise), as the API draws them.
    const ranked = layer.filters.nodes.filter((f) => !f.silent && f.snr !== null);
    const best = [...ranked].sort((a, b) => b.snr! - a.snr! || a.index - b.index).slice(0, 2);
    const worst = [...ranked].sort((a, b) => a.snr! - b.snr! || a.index - b.index).slice(0, 2);
    const maps = report.heatmaps[layer.layerName]!;
    expect(maps.best.map((h) => h.index)).toEqual(best.map((f) => f.index));
    expect(maps.worst.map((h) => h.index)).toEqual(worst.map((f) => f.index));
    for (const h of [...maps.best, ...maps.worst]) {
      const svg = readFileSync(join(out, h.file), 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg).toContain(`${layer.layerName} filter ${h.index}`);
      // The normalised view, with the raw one beside it.
      expect(svg).toContain('class="heatmap normalized"');
      expect(readFileSync(join(out, h.file.replace(/\.svg$/, '-raw.svg')), 'utf8')).toContain(
        'class="heatmap raw"',
      );
    }
  }
  console.log(
    `SR per layer: ${api.probe.layers.map((l) => `${l.layerName} ${l.successRate}`).join(', ')}; final test SR ${api.run.finalTestSR}`,
  );

  for (const chart of [
    'training-loss',
    'training-sr',
    'sr-per-layer',
    'snr-per-layer',
    'noise-per-layer',
    'clusters-per-layer',
    'silent-filters-per-layer',
    'head-training',
  ]) {
    const svg = readFileSync(join(out, `${chart}.svg`), 'utf8');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).not.toContain('NaN');
  }
  const readme = readFileSync(join(out, 'README.md'), 'utf8');
  expect(readme).toContain(report.run.id);
  expect(readme).toContain(report.probe.id);
  expect(readme).toContain('| Dataset | procedural |');
  expect(readme).toContain('| Head epochs |');
  expect(readme).toContain(`/export/runs/${report.run.id}/model.onnx`);
  expect(existsSync(join(out, 'sr-per-layer.svg'))).toBe(true);
});

it('exits 2 on bad arguments, 1 with the code on a GraphQL error, 0 on --help', async () => {
  const bad = runCli(['reproduce', '--url', URL_, '--epochs', 'many'], {});
  expect(await bad.exited).toBe(2);
  expect(bad.output()).toContain('--epochs: expected an integer from 1 to 10000, got "many"');

  const missing = runCli(
    ['reproduce', '--url', URL_, '--run', 'not-a-run-id', '--no-progress'],
    {},
  );
  expect(await missing.exited).toBe(1);
  expect(missing.output()).toMatch(/\((BAD_USER_INPUT|NOT_FOUND)\)/);

  const help = runCli(['reproduce', '--help'], {});
  expect(await help.exited).toBe(0);
  expect(help.output()).toContain('usage: filterscope reproduce');
});
