import { collect, startTestServer, type TestServer } from '../helpers/server.js';

/**
 * A researcher's handles on runs, through real HTTP and a real database: name, tags and notes set
 * at start and by `updateRun`, validated with named errors that change nothing; `runs(filter:)`
 * by tag, name, search, status, architecture, dataset and origin; a finished run's duration;
 * stored training steps; and a layer's filters searched by a label in their clusters, silent
 * ones last or left out.
 */
jest.setTimeout(300_000);

const RUN_FIELDS = 'id name tags notes status dataset origin durationSeconds';
type Run = {
  id: string;
  name: string;
  tags: string[];
  notes: string;
  status: string;
  durationSeconds: number | null;
};
type Filter = {
  index: number;
  silent: boolean;
  snr: number | null;
  clusters: { labels: number[]; names: string[] }[];
};

describe('naming, finding and reading runs', () => {
  let t: TestServer;
  let archId: string;
  let runA: Run;
  let runB: Run;

  const start = (labels: string) =>
    t.gql<{ startTraining: Run }>(
      `mutation($a: ID!) { startTraining(input: { architectureId: $a, dataset: "procedural",
        datasetOptions: { imageSize: 16, labels: 4, trainSize: 512, testSize: 128, seed: 3 },
        hyperparameters: { epochs: 2, batchSize: 32, augmentation: NONE } ${labels} }) { ${RUN_FIELDS} } }`,
      { a: archId },
    );
  const runs = async (filter: string) => {
    const res = await t.gql<{ runs: { totalCount: number; edges: { node: Run }[] } }>(
      `{ runs(filter: ${filter}) { totalCount edges { node { id } } } }`,
    );
    expect(res.errors).toBeUndefined();
    return res.data!.runs.edges.map((e) => e.node.id);
  };
  const total = async () =>
    (await t.gql<{ runs: { totalCount: number } }>('{ runs { totalCount } }')).data!.runs
      .totalCount;

  beforeAll(async () => {
    t = await startTestServer('pglite', { FILTERSCOPE_RUNNERS: '1' });
    const arch = await t.gql<{ createArchitecture: { id: string } }>(
      `mutation { createArchitecture(input: { name: "labels-vgg", inputShape: [16, 16, 3], labels: 4, blocks: [
        { kind: CONV, filters: 8 }, { kind: MAX_POOL }, { kind: CONV, filters: 8 }, { kind: MAX_POOL }] }) { id } }`,
    );
    archId = arch.data!.createArchitecture.id;
    const a = await start(
      'name: "  baseline lr 0.05 ", tags: ["vgg", "sweep:lr", "vgg"], notes: "first try\\nwith notes"',
    );
    expect(a.errors).toBeUndefined();
    runA = a.data!.startTraining;
    const b = await start('name: "Wide head", tags: ["ablation"]');
    runB = b.data!.startTraining;
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('stores the name trimmed, the tags deduplicated and the notes as given', () => {
    expect(runA).toMatchObject({
      name: 'baseline lr 0.05',
      tags: ['vgg', 'sweep:lr'],
      notes: 'first try\nwith notes',
      durationSeconds: null,
    });
  });

  it('refuses bad names, tags and notes with a code naming the field, storing nothing', async () => {
    const before = await total();
    const cases: [string, string][] = [
      [`name: "${'x'.repeat(121)}"`, 'input.name'],
      ['name: "two\\nlines"', 'input.name'],
      ['tags: ["ok", "has space"]', 'input.tags[1]'],
      ['tags: [""]', 'input.tags[0]'],
      [`tags: [${Array.from({ length: 21 }, (_, i) => `"t${i}"`).join(',')}]`, 'input.tags'],
      [`notes: "${'n'.repeat(10_001)}"`, 'input.notes'],
    ];
    for (const [labels, field] of cases) {
      const res = await start(labels);
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
      expect(res.errors?.[0]?.message).toMatch(new RegExp(`^${field.replace(/[[\]]/g, '\\$&')}: `));
    }
    const update = await t.gql(
      `mutation($id: ID!) { updateRun(id: $id, input: { tags: ["a b"] }) { id } }`,
      { id: runA.id },
    );
    expect(update.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.tags[0]',
    });
    const missing = await t.gql(
      `mutation { updateRun(id: "VHJhaW5pbmdSdW46OTk5OQ", input: { name: "x" }) { id } }`,
    );
    expect(missing.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(await total()).toBe(before);
    const again = await t.gql<{ run: Run }>(`query($id: ID!) { run(id: $id) { ${RUN_FIELDS} } }`, {
      id: runA.id,
    });
    expect(again.data!.run.tags).toEqual(['vgg', 'sweep:lr']);
  });

  it('finds runs by tag, name, search, status, architecture, dataset and origin', async () => {
    expect(await runs('{ tag: "vgg" }')).toEqual([runA.id]);
    expect(await runs('{ tag: "vg" }')).toEqual([]);
    expect(await runs('{ name: "WIDE" }')).toEqual([runB.id]);
    expect(await runs('{ search: "sweep" }')).toEqual([runA.id]);
    expect(await runs('{ search: "labels-v" }')).toEqual([runB.id, runA.id]);
    expect(await runs('{ search: "100%" }')).toEqual([]);
    expect(await runs(`{ search: "${runB.id}" }`)).toEqual([runB.id]);
    expect(
      await runs('{ architecture: "labels-vgg", dataset: "procedural", origin: TRAINED }'),
    ).toEqual([runB.id, runA.id]);
    expect(await runs('{ dataset: "mnist" }')).toEqual([]);
    expect(await runs('{ origin: IMPORTED }')).toEqual([]);
    const long = await t.gql(`{ runs(filter: { search: "${'s'.repeat(201)}" }) { totalCount } }`);
    expect(long.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'filter.search',
    });
  });

  it('edits a run with updateRun, keeping the fields left out', async () => {
    const res = await t.gql<{ updateRun: Run }>(
      `mutation($id: ID!) { updateRun(id: $id, input: { name: "Wide head, 2 epochs", tags: ["ablation", "keep"] }) { ${RUN_FIELDS} } }`,
      { id: runB.id },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data!.updateRun).toMatchObject({
      name: 'Wide head, 2 epochs',
      tags: ['ablation', 'keep'],
      notes: '',
    });
    expect(await runs('{ tag: "keep" }')).toEqual([runB.id]);
  });

  it('stores training steps, one at least per epoch, and a finished run has a fixed duration', async () => {
    for (const run of [runA, runB]) {
      const events = await collect<{ status: string | null }>(
        t.ws(),
        `subscription($id: ID!) { trainingProgress(runId: $id) { status } }`,
        { id: run.id },
      );
      expect(events.items.at(-1)?.status).toBe('SUCCEEDED');
    }
    const read = () =>
      t.gql<{
        run: Run & {
          steps: {
            step: number;
            epoch: number;
            batch: number;
            loss: number;
            imagesPerSecond: number | null;
          }[];
        };
      }>(
        `query($id: ID!) { run(id: $id) { ${RUN_FIELDS} steps { step epoch batch loss imagesPerSecond } } }`,
        { id: runA.id },
      );
    const first = (await read()).data!.run;
    // 512 examples in batches of 32: 16 a epoch; each epoch's last batch is always reported.
    expect(first.steps.map((s) => s.step)).toEqual(expect.arrayContaining([16, 32]));
    expect(first.steps.every((s) => s.step === (s.epoch - 1) * 16 + s.batch)).toBe(true);
    expect(first.steps.every((s) => Number.isFinite(s.loss) && s.loss > 0)).toBe(true);
    expect(first.steps.slice(1).every((s) => (s.imagesPerSecond ?? 0) > 0)).toBe(true);
    expect(first.durationSeconds).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await read()).data!.run.durationSeconds).toBe(first.durationSeconds);
  });

  it("searches a layer's filters by a label in their clusters, silent filters last or left out", async () => {
    const probe = await t.gql<{ startProbe: { id: string } }>(
      `mutation($r: ID!) { startProbe(input: { runId: $r, headEpochs: 1, replicates: 1 }) { id } }`,
      { r: runA.id },
    );
    expect(probe.errors).toBeUndefined();
    const probeId = probe.data!.startProbe.id;
    const events = await collect<{ status: string | null }>(
      t.ws(),
      `subscription($id: ID!) { probeProgress(probeId: $id) { status } }`,
      { id: probeId },
    );
    expect(events.items.at(-1)?.status).toBe('SUCCEEDED');
    const layer = async (args: string) => {
      const res = await t.gql<{ probe: { layers: { filters: { edges: { node: Filter }[] } }[] } }>(
        `query($id: ID!) { probe(id: $id) { layers { filters(first: 100 ${args}) { edges { node {
          index silent snr clusters { labels names } } } } } } }`,
        { id: probeId },
      );
      expect(res.errors).toBeUndefined();
      return res.data!.probe.layers[0]!.filters.edges.map((e) => e.node);
    };
    const all = await layer('');
    const names = [...new Set(all.flatMap((f) => f.clusters.flatMap((c) => c.names)))];
    expect(names.length).toBeGreaterThan(0);
    const name = names[0]!;
    const holding = all.filter((f) => f.clusters.some((c) => c.names.includes(name)));
    const byName = await layer(`clusterLabel: "${name.toUpperCase()}"`);
    expect(byName.map((f) => f.index)).toEqual(holding.map((f) => f.index));
    const cluster = all.flatMap((f) => f.clusters).find((c) => c.names.includes(name))!;
    const index = cluster.labels[cluster.names.indexOf(name)];
    const byIndex = await layer(`clusterLabel: "${index}"`);
    expect(byIndex.map((f) => f.index)).toEqual(holding.map((f) => f.index));

    // Silent filters after the others in SNR order, and left out with silent: false.
    const bySnr = await layer('orderBy: SNR_DESC, minScale: 0.6');
    const firstSilent = bySnr.findIndex((f) => f.silent);
    expect(firstSilent).toBeGreaterThan(0);
    expect(bySnr.slice(firstSilent).every((f) => f.silent)).toBe(true);
    const loud = await layer('orderBy: SNR_DESC, minScale: 0.6, silent: false');
    expect(loud.map((f) => f.index)).toEqual(bySnr.slice(0, firstSilent).map((f) => f.index));

    const bad = await t.gql(
      `query($id: ID!) { probe(id: $id) { layers { filters(clusterLabel: "Sandal") { totalCount } } } }`,
      { id: probeId },
    );
    expect(bad.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'clusterLabel',
    });
    expect(bad.errors?.[0]?.message).toContain(name);
  });
});

describe('updateRun on a server with API keys', () => {
  const READ = 'read-key-0123456789ab';
  const WRITE = 'write-key-0123456789a';
  let keyed: TestServer;
  beforeAll(async () => {
    keyed = await startTestServer('pglite', {
      FILTERSCOPE_API_KEYS: `viewer=${READ}:read,editor=${WRITE}:write`,
    });
  });
  afterAll(async () => {
    await keyed?.stop();
  });

  it('refuses a read key (FORBIDDEN, nothing changed) and takes a write key', async () => {
    const as = (key: string) => ({ authorization: `Bearer ${key}` });
    const arch = await keyed.gql<{ createArchitecture: { id: string } }>(
      `mutation { createArchitecture(input: { name: "keyed-vgg", inputShape: [16, 16, 3], labels: 4, blocks: [
        { kind: CONV, filters: 4 }, { kind: MAX_POOL }] }) { id } }`,
      {},
      as(WRITE),
    );
    const run = await keyed.gql<{ startTraining: { id: string } }>(
      `mutation($a: ID!) { startTraining(input: { architectureId: $a, dataset: "procedural",
        datasetOptions: { imageSize: 16, labels: 4, trainSize: 64, testSize: 32 },
        hyperparameters: { epochs: 1 }, name: "before" }) { id } }`,
      { a: arch.data!.createArchitecture.id },
      as(WRITE),
    );
    const id = run.data!.startTraining.id;
    const UPDATE = `mutation($id: ID!) { updateRun(id: $id, input: { name: "after" }) { name } }`;
    const refused = await keyed.gql(UPDATE, { id }, as(READ));
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const read = await keyed.gql<{ run: { name: string } }>(
      `query($id: ID!) { run(id: $id) { name } }`,
      { id },
      as(READ),
    );
    expect(read.data!.run.name).toBe('before');
    const taken = await keyed.gql<{ updateRun: { name: string } }>(UPDATE, { id }, as(WRITE));
    expect(taken.errors).toBeUndefined();
    expect(taken.data!.updateRun.name).toBe('after');
  });
});
