import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kind, parse, print, type OperationDefinitionNode } from 'graphql';
import { collect, startTestServer, type TestServer } from '../helpers/server.js';

/**
 * A newcomer's first hour: the README tour's `small` architecture and its first training example,
 * read from README.md and sent exactly as written (placeholder ids filled in) through real HTTP
 * and the WebSocket, reach the test SR the README promises.
 */
const README = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');

/** The JSON body of the tour's `curl ... -d '...'` that creates the `small` architecture. */
function createSmallBody(): { query: string } {
  const line = README.split('\n').find((l) =>
    l.includes('createArchitecture(input: { name: \\"small\\"'),
  );
  const body = line && /-d '(\{.*\})'/.exec(line)?.[1];
  if (!body) throw new Error('README.md: no curl line that creates the "small" architecture');
  return JSON.parse(body) as { query: string };
}

/** The operations of the first ```graphql block of the section titled `title`. */
function sectionOperations(title: string, ids: Record<string, string>): OperationDefinitionNode[] {
  const section = README.slice(README.indexOf(`### ${title}`));
  const block = /```graphql\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error(`README.md: no graphql block under "### ${title}"`);
  const filled = Object.entries(ids).reduce(
    (text, [placeholder, id]) => text.replaceAll(`"${placeholder}"`, JSON.stringify(id)),
    block,
  );
  return parse(filled).definitions.filter(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  );
}

jest.setTimeout(300_000);
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer('pglite', { FILTERSCOPE_RUNNERS: '1' });
});
afterAll(async () => {
  await t?.stop();
});

type Event = {
  sequence: number;
  type: string;
  status: string | null;
  metrics: { epoch: number; testSR: number } | null;
};

it("trains the README's first example with the default hyperparameters to test SR >= 0.80", async () => {
  const created = await t.gql<{ createArchitecture: { id: string } }>(createSmallBody().query);
  expect(created.errors).toBeUndefined();
  const archId = created.data!.createArchitecture.id;

  const [mutation] = sectionOperations('Training (phase 1)', {
    '<id from createArchitecture>': archId,
  });
  expect(mutation?.operation).toBe('mutation');
  const started = performance.now();
  const res = await t.gql<{
    startTraining: { id: string; status: string; hyperparameters: Record<string, unknown> };
  }>(print(mutation!));
  expect(res.errors).toBeUndefined();
  const runId = res.data!.startTraining.id;
  // The example leaves the learning rate, its schedule and the augmentation to their defaults.
  expect(res.data!.startTraining.hyperparameters).toEqual({
    learningRate: 0.05,
    schedule: { kind: 'COSINE' },
    augmentation: 'CROP_FLIP',
  });

  const [, subscription] = sectionOperations('Training (phase 1)', {
    '<id from createArchitecture>': archId,
    '<run id>': runId,
  });
  expect(subscription?.operation).toBe('subscription');
  const { items, errors } = await collect<Event>(t.ws(), print(subscription!), {});
  const seconds = (performance.now() - started) / 1000;
  expect(errors).toEqual([]);
  expect(items.at(-1)?.status).toBe('SUCCEEDED');
  const epochs = items.filter((e) => e.type === 'EPOCH').map((e) => e.metrics!);
  console.log(
    `README example: test SR per epoch ${epochs.map((m) => m.testSR.toFixed(3)).join(' ')}; ` +
      `${seconds.toFixed(1)} s from startTraining to SUCCEEDED`,
  );
  expect(epochs.map((m) => m.epoch)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
  expect(epochs.at(-1)!.testSR).toBeGreaterThanOrEqual(0.8);

  const stored = await t.gql<{
    run: { finalTestSR: number; datasetOptions: Record<string, unknown> };
  }>(`query($id: ID!) { run(id: $id) { finalTestSR datasetOptions } }`, { id: runId });
  expect(stored.data!.run.finalTestSR).toBeGreaterThanOrEqual(0.8);
  // The generator version is recorded although the example does not name it.
  expect(stored.data!.run.datasetOptions).toEqual({
    imageSize: 16,
    labels: 4,
    trainSize: 4000,
    testSize: 500,
    generatorVersion: 2,
  });
});
