import { databaseKinds } from '../helpers/database.js';
import { collect, startTestServer, type TestServer } from '../helpers/server.js';

/**
 * Phases 2 and 3 through the API: probe a trained small VGG on the procedural dataset and watch
 * every layer's SR and every filter's result arrive over graphql-ws.
 */
jest.setTimeout(600_000);
describe.each(databaseKinds())('probing on %s', (kind) => {
  let t: TestServer;
  let runId: string;

  const PROGRESS = `subscription($id: ID!) { trainingProgress(runId: $id) { status } }`;

  beforeAll(async () => {
    t = await startTestServer(kind, { FILTERSCOPE_RUNNERS: '1' });
    const arch = await t.gql<{ createArchitecture: { id: string } }>(
      `mutation { createArchitecture(input: { name: "probe-vgg", inputShape: [16, 16, 3], labels: 4, blocks: [
        { kind: CONV, filters: 8 }, { kind: CONV, filters: 8 }, { kind: MAX_POOL },
        { kind: CONV, filters: 16 }, { kind: MAX_POOL }, { kind: CONV, filters: 16 }, { kind: MAX_POOL }] }) { id } }`,
    );
    const run = await t.gql<{ startTraining: { id: string } }>(
      `mutation($a: ID!) { startTraining(input: { architectureId: $a, dataset: "procedural",
        datasetOptions: { imageSize: 16, labels: 4, trainSize: 4000, testSize: 512, seed: 7 },
        hyperparameters: { epochs: 8, batchSize: 32, learningRate: 0.01, augmentation: NONE } }) { id } }`,
      { a: arch.data!.createArchitecture.id },
    );
    runId = run.data!.startTraining.id;
    const events = await collect<{ status: string | null }>(t.ws(), PROGRESS, { id: runId });
    expect(events.items.at(-1)?.status).toBe('SUCCEEDED');
    const trained = await t.gql<{ run: { finalTestSR: number } }>(
      `query($id: ID!) { run(id: $id) { finalTestSR } }`,
      { id: runId },
    );
    // Crop + flip at 16x16 keeps SGD on its initial plateau for longer than 8 epochs here (see the
    // session notes); without it the net reaches ~0.85.
    expect(trained.data!.run.finalTestSR).toBeGreaterThan(0.6);
  });
  afterAll(async () => {
    await t?.stop();
  });

  type ProbeEvent = {
    sequence: number;
    type: string;
    status: string | null;
    layer: string | null;
    successRate: number | null;
    filterIndices: number[] | null;
    filters:
      | { index: number; signal: number; noise: number; snr: number | null; ablation: number }[]
      | null;
  };
  type Filter = {
    index: number;
    snr: number | null;
    signal: number;
    noise: number;
    ablation: number;
    preferredLabel: number;
    clusters: { labels: number[]; names: string[] }[];
    correlation: { size: number; rows: number[][]; base64: string };
  };

  const LAYER_FIELDS = `layerName successRate history { epoch testSR } meanClusterSize meanClustersPerFilter clusteredFraction meanNoise snr silentFilters
    afcc { keptFraction srBefore srAfter }`;

  it('streams every layer SR and filter result, stores what it streamed, and SR rises with depth', async () => {
    const started = await t.gql<{ startProbe: { id: string; status: string } }>(
      `mutation($r: ID!) { startProbe(input: { runId: $r, headEpochs: 4 }) { id status } }`,
      { r: runId },
    );
    expect(started.errors).toBeUndefined();
    const probeId = started.data!.startProbe.id;

    const streamedFilters = collect<Filter & { layer: { layerName: string } }>(
      t.ws(),
      `subscription($p: ID!) { filterResults(probeId: $p) { index snr signal noise ablation preferredLabel layer { layerName }
        clusters { labels names } correlation { size rows base64 } } }`,
      { p: probeId },
    );
    const progress = await collect<ProbeEvent>(
      t.ws(),
      `subscription($p: ID!) { probeProgress(probeId: $p) { sequence type status layer successRate filterIndices filters { index signal noise snr ablation } } }`,
      { p: probeId },
    );
    expect(progress.errors).toEqual([]);
    expect(progress.items.at(-1)?.status).toBe('SUCCEEDED');
    const layerSR = progress.items.filter((e) => e.type === 'LAYER_SR');
    expect(layerSR.map((e) => e.layer)).toEqual(['conv1', 'conv2', 'conv3', 'conv4']);

    const stored = await t.gql<{
      probe: {
        status: string;
        layers: ({
          layerName: string;
          successRate: number;
          filters: { totalCount: number; nodes: Filter[] };
        } & Record<string, unknown>)[];
      };
    }>(
      `query($p: ID!) { probe(id: $p) { status layers { ${LAYER_FIELDS}
        filters(first: 200) { totalCount nodes { index snr signal noise ablation preferredLabel clusters { labels names } correlation { size rows base64 } } } } } }`,
      { p: probeId },
    );
    expect(stored.errors).toBeUndefined();
    const layers = stored.data!.probe.layers;
    expect(layers.map((l) => l.filters.totalCount)).toEqual([8, 8, 16, 16]);
    for (const l of layers) {
      const streamed = layerSR.find((e) => e.layer === l.layerName)!;
      expect(l.successRate).toBe(streamed.successRate);
    }
    // The deepest probed layer reads the labels better than the first (METHOD.md claim 1).
    console.log(
      `probe SR per layer: ${layers.map((l) => `${l.layerName} ${l.successRate}`).join(', ')}`,
    );
    expect(layers.at(-1)!.successRate).toBeGreaterThan(layers[0]!.successRate);

    // FILTERS events carry each filter's metrics as stored.
    for (const l of layers) {
      const fromEvents = progress.items
        .filter((e) => e.type === 'FILTERS' && e.layer === l.layerName)
        .flatMap((e) => e.filters ?? [])
        .sort((a, b) => a.index - b.index);
      expect(fromEvents).toEqual(
        l.filters.nodes.map(({ index, signal, noise, snr, ablation }) => ({
          index,
          signal,
          noise,
          snr,
          ablation,
        })),
      );
    }
    const filters = await streamedFilters;
    expect(filters.items).toHaveLength(8 + 8 + 16 + 16);
    for (const l of layers) {
      const mine = filters.items
        .filter((f) => f.layer.layerName === l.layerName)
        .sort((a, b) => a.index - b.index);
      const { layer: _layer, ...first } = mine[0]! as Filter & { layer: unknown };
      expect(first).toEqual(l.filters.nodes[0]);
      expect(mine.map(({ layer: _l, ...f }) => f)).toEqual(l.filters.nodes);
    }
    const matrix = layers[0]!.filters.nodes[0]!.correlation;
    expect(matrix.size).toBe(4);
    const raw = new Float32Array(Uint8Array.from(Buffer.from(matrix.base64, 'base64')).buffer);
    expect(Array.from(raw)).toEqual(matrix.rows.flat().map((v) => Math.fround(v)));
  });

  it('cancels a probe: it ends CANCELLED, and cancelling it again is a CONFLICT', async () => {
    const started = await t.gql<{ startProbe: { id: string } }>(
      `mutation($r: ID!) { startProbe(input: { runId: $r, headEpochs: 500 }) { id } }`,
      { r: runId },
    );
    const probeId = started.data!.startProbe.id;
    const cancel = await t.gql<{ cancelProbe: { status: string } }>(
      `mutation($p: ID!) { cancelProbe(id: $p) { status } }`,
      { p: probeId },
    );
    expect(['QUEUED', 'RUNNING', 'CANCELLED']).toContain(cancel.data?.cancelProbe.status);
    const progress = await collect<{ status: string | null }>(
      t.ws(),
      `subscription($p: ID!) { probeProgress(probeId: $p) { status } }`,
      { p: probeId },
    );
    expect(progress.items.at(-1)?.status).toBe('CANCELLED');
    const again = await t.gql(`mutation($p: ID!) { cancelProbe(id: $p) { status } }`, {
      p: probeId,
    });
    expect(again.errors?.[0]?.extensions?.code).toBe('CONFLICT');
  });
});
