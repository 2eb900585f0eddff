import { collect, startTestServer, type TestServer } from '../helpers/server.js';

/**
 * `CorrelationMatrix.svg(view:)` over real HTTP on a real (PGlite) database: the NORMALIZED view
 * draws exactly the marks and clusters that the API's signal, noise and clusters count, for the
 * threshold and normalization given to `LayerProbe.filters`; RAW draws the stored matrix.
 */
jest.setTimeout(600_000);

type Filter = {
  index: number;
  signal: number;
  noise: number;
  clusters: { labels: number[]; names: string[] }[];
  correlation: { labels: string[]; normalized: string; raw: string; plain: string };
};

const marks = (svg: string) => svg.match(/<circle class="mark"/g)?.length ?? 0;
const clusters = (svg: string) =>
  [...svg.matchAll(/<g class="cluster" data-labels="([\d,]+)">/g)].map((m) =>
    m[1]!.split(',').map(Number),
  );

describe('heatmaps over HTTP', () => {
  let t: TestServer;
  let layerId: string;

  beforeAll(async () => {
    t = await startTestServer('pglite', { FILTERSCOPE_RUNNERS: '1' });
    const arch = await t.gql<{ createArchitecture: { id: string } }>(
      `mutation { createArchitecture(input: { name: "heatmap-vgg", inputShape: [16, 16, 3], labels: 4, blocks: [
        { kind: CONV, filters: 4 }, { kind: MAX_POOL }, { kind: CONV, filters: 8 }, { kind: MAX_POOL }] }) { id } }`,
    );
    const run = await t.gql<{ startTraining: { id: string } }>(
      `mutation($a: ID!) { startTraining(input: { architectureId: $a, dataset: "procedural",
        datasetOptions: { imageSize: 16, labels: 4, trainSize: 512, testSize: 128, seed: 3 },
        hyperparameters: { epochs: 2 } }) { id } }`,
      { a: arch.data!.createArchitecture.id },
    );
    const runId = run.data!.startTraining.id;
    const trained = await collect<{ status: string | null }>(
      t.ws(),
      `subscription($id: ID!) { trainingProgress(runId: $id) { status } }`,
      { id: runId },
    );
    expect(trained.items.at(-1)?.status).toBe('SUCCEEDED');
    const probe = await t.gql<{ startProbe: { id: string } }>(
      `mutation($r: ID!) { startProbe(input: { runId: $r, headEpochs: 1 }) { id } }`,
      { r: runId },
    );
    const probeId = probe.data!.startProbe.id;
    const probed = await collect<{ status: string | null }>(
      t.ws(),
      `subscription($p: ID!) { probeProgress(probeId: $p) { status } }`,
      { p: probeId },
    );
    expect(probed.items.at(-1)?.status).toBe('SUCCEEDED');
    const layers = await t.gql<{ probe: { layers: { id: string; layerName: string }[] } }>(
      `query($p: ID!) { probe(id: $p) { layers { id layerName } } }`,
      { p: probeId },
    );
    layerId = layers.data!.probe.layers.at(-1)!.id;
  });
  afterAll(async () => {
    await t?.stop();
  });

  const filters = async (args: string): Promise<Filter[]> => {
    const res = await t.gql<{ node: { filters: { nodes: Filter[] } } }>(
      `query($id: ID!) { node(id: $id) { ... on LayerProbe { filters(first: 50${args}) { nodes {
        index signal noise clusters { labels names }
        correlation { labels normalized: svg(view: NORMALIZED) raw: svg(view: RAW) plain: svg } } } } } }`,
      { id: layerId },
    );
    expect(res.errors).toBeUndefined();
    return res.data!.node.filters.nodes;
  };

  it.each([
    ['the defaults', ''],
    ['threshold 0.5', ', threshold: 0.5'],
    ['MAX normalization, threshold 0.2', ', normalization: MAX, threshold: 0.2'],
  ])(
    "draws, with %s, the marks and clusters that the filter's metrics count",
    async (_name, args) => {
      const nodes = await filters(args);
      expect(nodes).toHaveLength(8);
      let total = 0;
      for (const f of nodes) {
        const { normalized, raw, plain } = f.correlation;
        expect(plain).toBe(normalized);
        expect(marks(normalized)).toBe(f.signal + f.noise);
        expect(clusters(normalized)).toEqual(f.clusters.map((c) => c.labels));
        for (const c of f.clusters) for (const name of c.names) expect(normalized).toContain(name);
        expect(normalized).toContain(`signal ${f.signal}, noise ${f.noise}`);
        expect(marks(raw)).toBe(0);
        expect(clusters(raw)).toEqual([]);
        expect(raw).toContain('raw matrix M');
        // Label names on both axes of both views.
        for (const name of f.correlation.labels) {
          expect(normalized.split(`>${name}</text>`).length - 1).toBeGreaterThanOrEqual(2);
          expect(raw.split(`>${name}</text>`).length - 1).toBe(2);
        }
        total += f.signal + f.noise;
      }
      // The trained layer has marks to draw at all.
      expect(total).toBeGreaterThan(0);
    },
  );

  it('refuses a view that does not exist, naming it', async () => {
    const res = await t.gql(
      `query($id: ID!) { node(id: $id) { ... on LayerProbe { filters(first: 1) { nodes { correlation { svg(view: BRIGHT) } } } } } }`,
      { id: layerId },
    );
    expect(res.status).toBe(400);
    expect(res.errors![0]!.message).toContain('BRIGHT');
    expect(res.errors![0]!.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});
