import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { collect, startTestServer, type TestServer } from '../helpers/server.js';

/**
 * The dashboard served at `/`, driven in headless Chromium against a real server: a run trains
 * and its curves grow live, a probe's SR per layer, a layer's heatmap grid, a filter's page, an
 * error with its code, and the API-key form of a keyed server. Screenshots of every view go to
 * test-artifacts/screenshots/dashboard-*.png.
 */
jest.setTimeout(120_000);

// The page functions below run in Chromium. This project compiles without the DOM library, so
// the few browser globals they use are declared here, loosely and for this file only.
interface PageElement {
  textContent: string | null;
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): PageElement[];
  readonly complete?: boolean;
  readonly naturalWidth?: number;
}
declare const document: PageElement;
declare const window: Record<string, unknown>;
declare const localStorage: { getItem(key: string): string | null; clear(): void };

const EPOCHS = 5;
const KEY = '0123456789abcdef0123';

/** The page's origin, from the server's /graphql URL. */
const originOf = (t: TestServer) => t.server.url.replace(/\/graphql$/, '');
const testid = (id: string) => `[data-testid="${id}"]`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the dashboard', () => {
  let t: TestServer;
  let browser: TestBrowser;
  let page: Page;
  let runId: string;
  let probeId: string;
  let archId: string;
  let secondRunId: string;

  beforeAll(async () => {
    [t, browser] = await Promise.all([
      startTestServer('pglite', { FILTERSCOPE_RUNNERS: '1' }),
      launchBrowser(),
    ]);
    page = await browser.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  it('shows a run training live: its curves gain points without a reload, and it ends SUCCEEDED', async () => {
    await page.goto(`${originOf(t)}/`);
    await page.waitForSelector(`${testid('runs-summary')}:has-text("No runs yet")`);
    await browser.screenshot(page, 'dashboard-runs-empty');

    const arch = await t.gql<{ createArchitecture: { id: string } }>(
      `mutation { createArchitecture(input: { name: "dash-vgg", inputShape: [16, 16, 3], labels: 4, blocks: [
        { kind: CONV, filters: 8 }, { kind: CONV, filters: 8 }, { kind: MAX_POOL },
        { kind: CONV, filters: 16 }, { kind: MAX_POOL }] }) { id } }`,
    );
    const run = await t.gql<{ startTraining: { id: string } }>(
      `mutation($a: ID!) { startTraining(input: { architectureId: $a, dataset: "procedural",
        datasetOptions: { imageSize: 16, labels: 4, trainSize: 1024, testSize: 256, seed: 7 },
        hyperparameters: { epochs: ${EPOCHS}, batchSize: 32, learningRate: 0.01, augmentation: NONE },
        name: "dash baseline", tags: ["dash", "baseline"] }) { id } }`,
      { a: arch.data!.createArchitecture.id },
    );
    expect(run.errors).toBeUndefined();
    runId = run.data!.startTraining.id;
    archId = arch.data!.createArchitecture.id;

    // The runs list hears of the new run through runUpdated, without a reload.
    const link = page.locator(`${testid('run-row')}[data-run-id="${runId}"] ${testid('run-link')}`);
    await link.waitFor({ timeout: 15_000 });
    await browser.screenshot(page, 'dashboard-runs');
    await link.click();
    await page.waitForSelector(testid('loss-chart'));
    await page.evaluate(() => (window.notReloaded = true));

    // Watch the curves while the run trains: the point count must grow in place.
    const seen: number[] = [];
    let status = '';
    let sawBatch = false;
    const deadline = Date.now() + 100_000;
    while (Date.now() < deadline) {
      const state = await page.evaluate(() => ({
        points: Number(
          document.querySelector('[data-testid="loss-chart"]')?.getAttribute('data-points'),
        ),
        srPoints: document.querySelectorAll('[data-testid="sr-chart"] circle.point').length,
        status: document.querySelector('[data-testid="run-status"]')?.textContent ?? '',
        batch: document.querySelector('[data-testid="batch-progress"]') !== null,
      }));
      if (seen.at(-1) !== state.points) seen.push(state.points);
      // Two series (train, test) per chart.
      expect(state.srPoints).toBe(2 * state.points);
      // One picture of the page mid-run, with its batch progress bar (STEP events come at most
      // once a second, so a very fast run may have none: that is reported, not failed).
      if (state.batch && !sawBatch) await browser.screenshot(page, 'dashboard-run-training');
      sawBatch ||= state.batch;
      status = state.status;
      if (status === 'SUCCEEDED' && state.points === EPOCHS) break;
      if (status === 'FAILED' || status === 'CANCELLED') break;
      await sleep(150);
    }
    console.log(`dashboard: loss-chart point counts seen while training: ${seen.join(' → ')}`);
    expect(status).toBe('SUCCEEDED');
    expect(seen[0]).toBeLessThan(EPOCHS);
    expect(seen.at(-1)).toBe(EPOCHS);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(seen.length).toBeGreaterThan(1);
    expect(await page.evaluate(() => window.notReloaded)).toBe(true);
    if (!sawBatch) console.log('dashboard: no STEP event arrived while the page was polled');

    // The curves hold the stored metrics.
    const stored = await t.gql<{
      run: { metrics: { epoch: number; testSR: number; trainLoss: number }[] };
    }>(`query($id: ID!) { run(id: $id) { metrics { epoch testSR trainLoss } } }`, { id: runId });
    const drawn = await page.$$eval(
      `${testid('sr-chart')} [data-series="test"] circle.point`,
      (circles) =>
        circles.map((c) => ({
          x: Number(c.getAttribute('data-x')),
          y: Number(c.getAttribute('data-y')),
        })),
    );
    expect(drawn).toEqual(stored.data!.run.metrics.map((m) => ({ x: m.epoch, y: m.testSR })));
    await page.waitForSelector(`${testid('final-test-sr')}:not(:has-text("–"))`);
    // The step-loss curve holds every stored step (a reload shows the same), and a finished run
    // says how long it took.
    const steps = await t.gql<{ run: { steps: { step: number }[]; durationSeconds: number } }>(
      `query($id: ID!) { run(id: $id) { steps { step } durationSeconds } }`,
      { id: runId },
    );
    expect(steps.data!.run.steps.length).toBeGreaterThanOrEqual(EPOCHS);
    await page.waitForFunction(
      (n) =>
        document
          .querySelector('[data-testid="step-chart"] g.series')
          ?.getAttribute('data-points') === String(n),
      steps.data!.run.steps.length,
    );
    await page.reload();
    await page.waitForSelector(testid('step-chart'));
    expect(await page.getAttribute(`${testid('step-chart')} g.series`, 'data-points')).toBe(
      String(steps.data!.run.steps.length),
    );
    expect(await page.textContent(testid('run-duration'))).not.toContain('Running');
    expect(await page.textContent('body')).toContain('Took');
    // Log scale, drag-to-zoom and its reset, and a hover read-out.
    await page.check(testid('log-scale'));
    expect(await page.getAttribute(testid('step-chart'), 'data-log')).toBe('true');
    const box = (await page.locator(`${testid('step-chart')} rect.surface`).boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 4 });
    await page.mouse.up();
    expect(await page.getAttribute(testid('step-chart'), 'data-zoom')).toMatch(/^[\d.]+,[\d.]+$/);
    const hoverBox = (await page.locator(`${testid('step-chart')} rect.surface`).boundingBox())!;
    await page.mouse.move(hoverBox.x + hoverBox.width / 2, hoverBox.y + hoverBox.height / 2);
    await page.waitForSelector(`${testid('step-chart')} ${testid('hover')}[visibility="visible"]`);
    await browser.screenshot(page, 'dashboard-run-zoomed');
    await page.click(testid('zoom-reset'));
    expect(await page.getAttribute(testid('step-chart'), 'data-zoom')).toBe('');
    await page.uncheck(testid('log-scale'));
    await browser.screenshot(page, 'dashboard-run');
  }, 150_000);

  it('finds runs by tag and by search as the API does, and overlays two runs, one live', async () => {
    const second = await t.gql<{ startTraining: { id: string } }>(
      `mutation($a: ID!) { startTraining(input: { architectureId: $a, dataset: "procedural",
        datasetOptions: { imageSize: 16, labels: 4, trainSize: 1024, testSize: 256, seed: 8 },
        hyperparameters: { epochs: 4, batchSize: 32, learningRate: 0.02, augmentation: NONE },
        name: "dash wider lr", tags: ["dash", "lr"] }) { id } }`,
      { a: archId },
    );
    expect(second.errors).toBeUndefined();
    secondRunId = second.data!.startTraining.id;
    const apiRuns = async (filter: string) =>
      (
        await t.gql<{ runs: { nodes: { id: string }[] } }>(
          `{ runs(filter: ${filter}) { nodes { id } } }`,
        )
      ).data!.runs.nodes.map((n) => n.id);
    const rows = () =>
      page.$$eval(testid('run-row'), (els) => els.map((el) => el.getAttribute('data-run-id')));

    await page.goto(`${originOf(t)}/#/`);
    await page.waitForSelector(`${testid('run-row')}[data-run-id="${secondRunId}"]`);
    await page.fill(testid('runs-search'), 'baseline');
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid="run-row"]').length === 1,
    );
    expect(await rows()).toEqual(await apiRuns('{ search: "baseline" }'));
    await page.fill(testid('runs-search'), '');
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid="run-row"]').length === 2,
    );
    await page.click(
      `${testid('run-row')}[data-run-id="${secondRunId}"] button.tag[data-tag="lr"]`,
    );
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid="run-row"]').length === 1,
    );
    expect(await rows()).toEqual(await apiRuns('{ tag: "lr" }'));
    await page.click(`${testid('tag-filter')} button`);
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid="run-row"]').length === 2,
    );
    await browser.screenshot(page, 'dashboard-runs-named');

    // Tick both, compare: the second run is still training, and its curve grows in place.
    for (const id of [runId, secondRunId])
      await page.check(`${testid('run-row')}[data-run-id="${id}"] ${testid('run-pick')}`);
    await page.click(testid('compare-link'));
    await page.waitForSelector(testid('compare-step-chart'));
    const series = (id: string) =>
      page.getAttribute(
        `${testid('compare-step-chart')} g.series[data-key="${id}"]`,
        'data-points',
      );
    const seen: number[] = [];
    const deadline = Date.now() + 100_000;
    let status = '';
    while (Date.now() < deadline) {
      const points = Number(await series(secondRunId));
      if (seen.at(-1) !== points) seen.push(points);
      status =
        (
          await t.gql<{ run: { status: string } }>(`query($id: ID!) { run(id: $id) { status } }`, {
            id: secondRunId,
          })
        ).data?.run.status ?? '';
      if (status === 'SUCCEEDED' || status === 'FAILED') break;
      await sleep(300);
    }
    expect(status).toBe('SUCCEEDED');
    console.log(`dashboard: compared run's step points seen while training: ${seen.join(' → ')}`);
    for (const id of [runId, secondRunId]) {
      const api = await t.gql<{ run: { steps: unknown[]; metrics: unknown[] } }>(
        `query($id: ID!) { run(id: $id) { steps { step } metrics { epoch } } }`,
        { id },
      );
      await page.waitForFunction(
        ([sel, n]) => document.querySelector(sel!)?.getAttribute('data-points') === n,
        [
          `[data-testid="compare-step-chart"] g.series[data-key="${id}"]`,
          String(api.data!.run.steps.length),
        ],
      );
      expect(
        await page.getAttribute(
          `${testid('compare-sr-chart')} g.series[data-key="${id}"]`,
          'data-points',
        ),
      ).toBe(String(api.data!.run.metrics.length));
    }
    expect(seen.length).toBeGreaterThan(1);
    // One colour per run, the same as its swatch in the list.
    const colours = await page.$$eval(`${testid('compare-runs')} tr[data-run-id]`, (els) =>
      els.map((el) => el.getAttribute('data-color')),
    );
    expect(new Set(colours).size).toBe(2);
    await browser.screenshot(page, 'dashboard-compare');
  }, 150_000);

  it('shows SR per probed layer live, with the values the API stores', async () => {
    const started = await t.gql<{ startProbe: { id: string } }>(
      `mutation($r: ID!) { startProbe(input: { runId: $r, headEpochs: 2 }) { id } }`,
      { r: runId },
    );
    expect(started.errors).toBeUndefined();
    probeId = started.data!.startProbe.id;
    await page.goto(`${originOf(t)}/#/probes/${probeId}`);
    await page.waitForSelector(`${testid('probe-status')}:has-text("SUCCEEDED")`, {
      timeout: 90_000,
    });
    // After the final status the page refetches the layers' aggregates.
    await page.waitForFunction(() =>
      [...document.querySelectorAll('[data-testid="layer-row"]')].every(
        (row) => row.getAttribute('data-complete') === 'true',
      ),
    );
    expect(await page.locator(testid('sr-pending')).count()).toBe(0);

    const api = await t.gql<{
      probe: { layerNames: string[]; layers: { layerName: string; successRate: number }[] };
    }>(`query($p: ID!) { probe(id: $p) { layerNames layers { layerName successRate } } }`, {
      p: probeId,
    });
    const layers = api.data!.probe.layers;
    expect(layers.map((l) => l.layerName)).toEqual(['conv1', 'conv2', 'conv3']);
    const bars = await page.$$eval(`${testid('sr-layers-chart')} ${testid('sr-bar')}`, (rects) =>
      rects.map((r) => ({
        layerName: r.getAttribute('data-layer'),
        successRate: Number(r.getAttribute('data-sr')),
      })),
    );
    expect(bars).toEqual(layers);
    // The layer SNR chart beside it, from the stored aggregates.
    const snr = await t.gql<{ probe: { layers: { layerName: string; snr: number | null }[] } }>(
      `query($p: ID!) { probe(id: $p) { layers { layerName snr } } }`,
      { p: probeId },
    );
    const snrBars = await page.$$eval(
      `${testid('snr-layers-chart')} ${testid('snr-bar')}`,
      (rects) =>
        rects.map((r) => ({
          layerName: r.getAttribute('data-layer'),
          snr: Number(r.getAttribute('data-value')),
        })),
    );
    expect(snrBars).toEqual(snr.data!.probe.layers.filter((l) => l.snr !== null));
    expect(await page.locator(testid('layer-row')).count()).toBe(layers.length);
    await browser.screenshot(page, 'dashboard-probe');
  });

  it("draws the papers' figure for two probes with the API's values, error bars and CSV", async () => {
    const started = await t.gql<{ startProbe: { id: string } }>(
      `mutation($r: ID!) { startProbe(input: { runId: $r, headEpochs: 1, replicates: 2 }) { id } }`,
      { r: secondRunId },
    );
    expect(started.errors).toBeUndefined();
    const second = started.data!.startProbe.id;
    const done = await collect<{ status: string | null }>(
      t.ws(),
      `subscription($id: ID!) { probeProgress(probeId: $id) { status } }`,
      { id: second },
    );
    expect(done.items.at(-1)?.status).toBe('SUCCEEDED');
    await page.goto(`${originOf(t)}/#/figure?probes=${probeId},${second}`);
    await page.waitForSelector(testid('figure-snr'));
    type Layer = {
      layerName: string;
      successRate: number;
      snr: number | null;
      replicates: { successRate: { std: number }; snr: { std: number | null } };
    };
    for (const id of [probeId, second]) {
      const api = await t.gql<{ probe: { run: { finalTestSR: number }; layers: Layer[] } }>(
        `query($id: ID!) { probe(id: $id) { run { finalTestSR } layers { layerName successRate snr
          replicates { successRate { std } snr { std } } } } }`,
        { id },
      );
      const { layers, run } = api.data!.probe;
      const drawn = (chart: string) =>
        page.$$eval(`[data-testid="${chart}"] g.series[data-key="${id}"] circle.point`, (els) =>
          els.map((el) => ({
            layer: el.getAttribute('data-layer'),
            value: Number(el.getAttribute('data-value')),
            std: el.getAttribute('data-std') === '' ? null : Number(el.getAttribute('data-std')),
          })),
        );
      expect(await drawn('figure-sr')).toEqual(
        layers.map((l) => ({
          layer: l.layerName,
          value: l.successRate,
          std: l.replicates.successRate.std,
        })),
      );
      expect(await drawn('figure-snr')).toEqual(
        layers
          .filter((l) => l.snr !== null)
          .map((l) => ({ layer: l.layerName, value: l.snr, std: l.replicates.snr.std })),
      );
      expect(
        Number(
          await page.getAttribute(
            `${testid('figure-sr')} g.series[data-key="${id}"] ${testid('network-sr')}`,
            'data-value',
          ),
        ),
      ).toBe(run.finalTestSR);
    }
    // The second probe has two replicates: its SR points have error bars.
    expect(
      await page
        .locator(`${testid('figure-sr')} g.series[data-key="${second}"] line.error-bar`)
        .count(),
    ).toBeGreaterThan(0);
    const csvHref = (await page.getAttribute(testid('figure-csv'), 'href'))!;
    const csv = decodeURIComponent(csvHref.replace(/^data:text\/csv;charset=utf-8,/, ''));
    const lines = csv.trim().split('\n');
    expect(lines[0]).toBe(
      'probe,run,name,architecture,dataset,layer,depth,successRate,successRateStd,snr,snrStd,replicates,networkTestSR',
    );
    expect(lines).toHaveLength(1 + 3 + 3);
    await browser.screenshot(page, 'dashboard-figure');
    await page.click(testid('from-chance'));
    await page.waitForSelector(`${testid('figure-sr')}[data-y-from="0.25"]`);
    await browser.screenshot(page, 'dashboard-figure-chance');
  }, 150_000);

  it("opens a layer's grid: one heatmap per filter, sorted by SNR as the API sorts them", async () => {
    const api = await t.gql<{
      probe: {
        layers: {
          id: string;
          layerName: string;
          silentFilters: number;
          layer: { filters: number };
          filters: { nodes: { id: string; index: number; snr: number | null; silent: boolean }[] };
        }[];
      };
    }>(
      `query($p: ID!) { probe(id: $p) { layers { id layerName silentFilters layer { filters }
        filters(orderBy: SNR_DESC, first: 200) { nodes { id index snr silent } } } } }`,
      { p: probeId },
    );
    // The layer with the most silent filters (the deepest on a tie), so their marking is checked.
    const layers = api.data!.probe.layers;
    const layer = layers.reduce((best, l) => (l.silentFilters >= best.silentFilters ? l : best));
    console.log(
      `dashboard: silent filters per layer: ${layers.map((l) => `${l.layerName} ${l.silentFilters}/${l.layer.filters}`).join(', ')}; grid of ${layer.layerName}`,
    );
    await page.goto(`${originOf(t)}/#/probes/${probeId}`);
    await page.click(
      `${testid('layer-row')}[data-layer="${layer.layerName}"] ${testid('layer-link')}`,
    );
    const n = layer.layer.filters;
    await page.waitForSelector(`${testid('grid-summary')}[data-total="${n}"]`);

    const cards = await page.$$eval(testid('filter-card'), (els) =>
      els.map((el) => ({
        id: el.getAttribute('data-filter-id'),
        index: Number(el.getAttribute('data-index')),
        snr: el.getAttribute('data-snr') === '' ? null : Number(el.getAttribute('data-snr')),
        silent: el.getAttribute('data-silent') === 'true',
        heatmaps: el.querySelectorAll('[data-testid="heatmap"]').length,
        silentBadge: el.querySelector('[data-testid="silent-badge"]') !== null,
      })),
    );
    expect(cards).toHaveLength(layer.layer.filters);
    expect(cards.map(({ id, index, snr, silent }) => ({ id, index, snr, silent }))).toEqual(
      layer.filters.nodes,
    );
    for (const card of cards) {
      expect(card.heatmaps).toBe(1);
      expect(card.silentBadge).toBe(card.silent);
    }
    // Highest SNR first among the filters that are not silent, then the silent ones.
    const loud = cards.filter((c) => !c.silent).map((c) => c.snr ?? -Infinity);
    expect(loud).toEqual([...loud].sort((a, b) => b - a));
    const firstSilent = cards.findIndex((c) => c.silent);
    if (firstSilent >= 0) expect(cards.slice(firstSilent).every((c) => c.silent)).toBe(true);

    // One colour scale for the layer by default: every heatmap and the legend say the same
    // maximum, the largest |entry| of any of the layer's matrices.
    const rows = await t.gql<{
      probe: {
        layers: {
          layerName: string;
          filters: { nodes: { correlation: { rows: number[][] } }[] };
        }[];
      };
    }>(
      `query($p: ID!) { probe(id: $p) { layers { layerName filters(first: 200) { nodes { correlation { rows } } } } } }`,
      { p: probeId },
    );
    const largest = Math.max(
      ...rows
        .data!.probe.layers.find((l) => l.layerName === layer.layerName)!
        .filters.nodes.flatMap((f) => f.correlation.rows.flat().map(Math.abs)),
    );
    const sharedScales = await page.$$eval(
      '[data-testid="filter-card"] [data-testid="heatmap"]',
      (els) => els.map((el) => Number(el.getAttribute('data-scale-max'))),
    );
    expect(new Set(sharedScales).size).toBe(1);
    expect(sharedScales[0]).toBeCloseTo(largest, 4);
    expect(Number(await page.getAttribute(testid('scale-legend'), 'data-scale-max'))).toBe(
      sharedScales[0],
    );
    await browser.screenshot(page, 'dashboard-layer');

    // Per filter: the API's heatmap for each, each on its own scale.
    await page.selectOption(testid('scale-mode'), 'filter');
    await page.waitForSelector(
      `${testid('filter-grid')}[data-scale="filter"] img${testid('heatmap')}`,
    );
    // Every heatmap image decoded (a broken data: URL would leave naturalWidth at 0).
    await page.waitForFunction(() =>
      [...document.querySelectorAll('img[data-testid="heatmap"]')].every(
        (img) => img.complete === true && (img.naturalWidth ?? 0) > 0,
      ),
    );
    const ownScales = await page.$$eval(
      '[data-testid="filter-card"] img[data-testid="heatmap"]',
      (els) => els.map((el) => el.getAttribute('data-scale-max')),
    );
    expect(ownScales).toHaveLength(n);
    expect(new Set(ownScales).size).toBeGreaterThan(1);
    await browser.screenshot(page, 'dashboard-layer-per-filter');
    await page.selectOption(testid('scale-mode'), 'shared');

    // A search by label returns the filters the API's clusterLabel returns, in its order.
    const names = await page.$$eval(`${testid('label-search')} option`, (els) =>
      els.map((el) => el.getAttribute('value')).filter((v) => v),
    );
    const label = names[1]!;
    const byLabel = await t.gql<{ node: { filters: { nodes: { id: string }[] } } }>(
      `query($id: ID!, $l: String!) { node(id: $id) { ... on LayerProbe { filters(orderBy: SNR_DESC, first: 200, clusterLabel: $l) { nodes { id } } } } }`,
      { id: layer.id, l: label },
    );
    const expectedIds = byLabel.data!.node.filters.nodes.map((f) => f.id);
    await page.selectOption(testid('label-search'), label);
    await page.waitForSelector(`${testid('grid-summary')}[data-total="${expectedIds.length}"]`);
    expect(
      await page.$$eval(testid('filter-card'), (els) =>
        els.map((el) => el.getAttribute('data-filter-id')),
      ),
    ).toEqual(expectedIds);
    await browser.screenshot(page, 'dashboard-layer-label');
    await page.selectOption(testid('label-search'), '');
    await page.waitForSelector(`${testid('grid-summary')}[data-total="${n}"]`);

    // A larger minScale (set through the page's form) silences the weaker half of the filters:
    // the grid marks exactly those the API calls silent, in the same order.
    const scales = await t.gql<{
      probe: { layers: { layerName: string; filters: { nodes: { scale: number }[] } }[] };
    }>(
      `query($p: ID!) { probe(id: $p) { layers { layerName filters(first: 200) { nodes { scale } } } } }`,
      {
        p: probeId,
      },
    );
    const sorted = scales
      .data!.probe.layers.find((l) => l.layerName === layer.layerName)!
      .filters.nodes.map((f) => f.scale)
      .sort((a, b) => a - b);
    const minScale = Number(sorted[Math.floor(sorted.length / 2)]!.toFixed(3));
    const silenced = await t.gql<{
      probe: {
        layers: { layerName: string; filters: { nodes: { id: string; silent: boolean }[] } }[];
      };
    }>(
      `query($p: ID!, $m: Float!) { probe(id: $p) { layers { layerName
        filters(orderBy: SNR_DESC, first: 200, minScale: $m) { nodes { id silent } } } } }`,
      { p: probeId, m: minScale },
    );
    const expected = silenced.data!.probe.layers.find((l) => l.layerName === layer.layerName)!
      .filters.nodes;
    const silentCount = expected.filter((f) => f.silent).length;
    expect(silentCount).toBeGreaterThan(0);
    await page.fill(testid('opt-min-scale'), String(minScale));
    await page.click(testid('opt-apply'));
    await page.waitForFunction(
      (count) => document.querySelectorAll('[data-testid="silent-badge"]').length === count,
      silentCount,
    );
    expect(new URL(page.url()).hash).toContain(`minScale=${minScale}`);
    const marked = await page.$$eval(testid('filter-card'), (els) =>
      els.map((el) => ({
        id: el.getAttribute('data-filter-id'),
        silent: el.getAttribute('data-silent') === 'true',
        badge: el.querySelector('[data-testid="silent-badge"]') !== null,
      })),
    );
    expect(marked.map(({ id, silent }) => ({ id, silent }))).toEqual(expected);
    expect(marked.every((m) => m.badge === m.silent)).toBe(true);
    await browser.screenshot(page, 'dashboard-layer-silent');
    // Hiding the silent filters leaves those the API's `silent: false` returns.
    await page.check(testid('hide-silent'));
    await page.waitForSelector(
      `${testid('grid-summary')}[data-total="${expected.length - silentCount}"]`,
    );
    expect(
      await page.$$eval(testid('filter-card'), (els) =>
        els.map((el) => el.getAttribute('data-filter-id')),
      ),
    ).toEqual(expected.filter((f) => !f.silent).map((f) => f.id));
  });

  it("pages through a layer's filters as the API's cursors do", async () => {
    const layerName = decodeURIComponent(
      new URL(page.url()).hash.split('/layers/')[1]!.split('?')[0]!,
    );
    const api = await t.gql<{
      probe: { layers: { layerName: string; filters: { nodes: { id: string }[] } }[] };
    }>(
      `query($p: ID!) { probe(id: $p) { layers { layerName filters(orderBy: SNR_DESC, first: 200) { nodes { id } } } } }`,
      { p: probeId },
    );
    const ids = api
      .data!.probe.layers.find((l) => l.layerName === layerName)!
      .filters.nodes.map((f) => f.id);
    await page.goto(
      `${originOf(t)}/#/probes/${encodeURIComponent(probeId)}/layers/${encodeURIComponent(layerName)}?pageSize=5`,
    );
    const shown = () =>
      page.$$eval(testid('filter-card'), (els) =>
        els.map((el) => el.getAttribute('data-filter-id')),
      );
    await page.waitForSelector(
      `${testid('page-number')}:has-text("page 1 of ${Math.ceil(ids.length / 5)}")`,
    );
    expect(await shown()).toEqual(ids.slice(0, 5));
    await page.click(testid('page-next'));
    await page.waitForSelector(`${testid('page-number')}:has-text("page 2 of")`);
    expect(await shown()).toEqual(ids.slice(5, 10));
    await page.click(testid('page-prev'));
    await page.waitForSelector(`${testid('page-number')}:has-text("page 1 of")`);
    expect(await shown()).toEqual(ids.slice(0, 5));
  });

  it('never shows infinity where the API says null: filters without noise or without marks say so', async () => {
    const layerName = decodeURIComponent(
      new URL(page.url()).hash.split('/layers/')[1]!.split('?')[0]!,
    );
    // MAX normalization at threshold 1 marks only each matrix's largest entry: many filters have
    // no noise (snr null) or no marks at all.
    const api = await t.gql<{
      probe: {
        layers: {
          layerName: string;
          filters: { nodes: { id: string; snr: number | null; signal: number }[] };
        }[];
      };
    }>(
      `query($p: ID!) { probe(id: $p) { layers { layerName
        filters(orderBy: SNR_DESC, first: 200, threshold: 1, normalization: MAX) { nodes { id snr signal } } } } }`,
      { p: probeId },
    );
    const nodes = api.data!.probe.layers.find((l) => l.layerName === layerName)!.filters.nodes;
    expect(nodes.some((f) => f.snr === null)).toBe(true);
    await page.goto(
      `${originOf(t)}/#/probes/${encodeURIComponent(probeId)}/layers/${encodeURIComponent(layerName)}?threshold=1&normalization=MAX`,
    );
    await page.waitForSelector(`${testid('grid-summary')}[data-total="${nodes.length}"]`);
    const shown = await page.$$eval(testid('filter-card'), (els) =>
      els.map((el) => ({
        id: el.getAttribute('data-filter-id'),
        snr: el.querySelector('[data-testid="card-snr"]')?.textContent ?? '',
      })),
    );
    expect(shown.map((c) => c.id)).toEqual(nodes.map((f) => f.id));
    for (const [i, card] of shown.entries()) {
      const f = nodes[i]!;
      expect(card.snr).not.toContain('∞');
      if (f.snr === null)
        expect(card.snr).toBe(f.signal === 0 ? 'none (no marks)' : 'none (no noise)');
    }
    expect(await page.textContent('body')).not.toContain('∞');
  });

  it("opens a filter's page: the matrix, its clusters and metrics as the API has them", async () => {
    const first = page.locator(testid('filter-card')).first();
    const filterId = (await first.getAttribute('data-filter-id'))!;
    await first.click();
    await page.waitForSelector(`svg${testid('matrix')}`);
    expect(page.url()).toContain(`#/filters/${filterId}`);

    const api = await t.gql<{
      node: {
        index: number;
        signal: number;
        noise: number;
        clusters: { labels: number[]; names: string[] }[];
        correlation: { size: number };
      };
    }>(
      `query($id: ID!) { node(id: $id) { ... on FilterResult { index signal noise clusters { labels names } correlation { size } } } }`,
      { id: filterId },
    );
    const filter = api.data!.node;
    const cells = await page.locator(`svg${testid('matrix')} g.cells rect`).count();
    expect(cells).toBe(filter.correlation.size ** 2);
    const clusters = await page.$$eval(testid('cluster'), (els) =>
      els.map((el) => ({ labels: el.getAttribute('data-labels'), text: el.textContent })),
    );
    expect(clusters).toEqual(
      filter.clusters.map((c) => ({ labels: c.labels.join(','), text: c.names.join(' + ') })),
    );
    if (filter.clusters.length === 0)
      await page.waitForSelector(`${testid('clusters')}:has-text("No cluster")`);
    expect(await page.textContent(testid('filter-signal'))).toBe(String(filter.signal));
    expect(await page.textContent(testid('filter-noise'))).toBe(String(filter.noise));
    expect(await page.textContent(testid('filter-ablation'))).toMatch(/points$/);
    expect(await page.locator(`${testid('label-names')} li`).count()).toBe(filter.correlation.size);
    // The normalised view by default: one dot per mark the SNR counts; the raw one on request.
    const marks = `svg${testid('matrix')} g.marks circle`;
    expect(await page.locator(marks).count()).toBe(filter.signal + filter.noise);
    await browser.screenshot(page, 'dashboard-filter');
    await page.check(testid('matrix-raw'));
    await page.waitForSelector(`${testid('matrix-view')}[data-view="raw"]`);
    expect(await page.locator(marks).count()).toBe(0);
    expect(await page.locator(`svg${testid('matrix')} g.cells rect`).count()).toBe(cells);
    await browser.screenshot(page, 'dashboard-filter-raw');
    // Previous and next in index order.
    const step = filter.index > 0 ? 'filter-prev' : 'filter-next';
    await page.click(testid(step));
    await page.waitForSelector(
      `h1:has-text("filter ${filter.index + (step === 'filter-prev' ? -1 : 1)} of")`,
    );
  });

  it('shows a GraphQL error with its message and extensions.code', async () => {
    await page.goto(`${originOf(t)}/#/runs/not-a-run-id`);
    await page.waitForSelector(testid('error'));
    expect(await page.textContent(testid('error-code'))).toBe('BAD_USER_INPUT');
    expect(await page.textContent(testid('error-message'))).toContain('not-a-run-id');
    await browser.screenshot(page, 'dashboard-error');
    expect(browser.pageErrors).toEqual([]);
  });

  describe('on a server that needs an API key', () => {
    let keyed: TestServer;
    beforeAll(async () => {
      keyed = await startTestServer('pglite', { FILTERSCOPE_API_KEYS: `dash=${KEY}:read` });
    });
    afterAll(async () => {
      await keyed?.stop();
    });

    it('asks for the key, keeps it in localStorage, and loads with it over HTTP and WebSocket', async () => {
      const keyPage = await browser.newPage();
      await keyPage.goto(`${originOf(keyed)}/`);
      await keyPage.waitForSelector(testid('key-form'));
      await browser.screenshot(keyPage, 'dashboard-key-form');

      // A wrong key is refused, and the form stays.
      await keyPage.fill(testid('key-input'), 'wrong-key-0000000000');
      await keyPage.click(testid('key-submit'));
      await keyPage.waitForSelector(testid('key-form'));
      expect(await keyPage.locator(testid('runs-summary')).textContent()).toBe('');

      await keyPage.fill(testid('key-input'), KEY);
      await keyPage.click(testid('key-submit'));
      await keyPage.waitForSelector(`${testid('runs-summary')}:has-text("No runs yet")`);
      expect(await keyPage.locator(testid('key-form')).count()).toBe(0);
      expect(await keyPage.evaluate(() => localStorage.getItem('filterscope.apiKey'))).toBe(KEY);
      // The runs list's runUpdated subscription connected with the key.
      await keyPage.waitForSelector(`${testid('connection')}[data-state="live"]`);
      await browser.screenshot(keyPage, 'dashboard-keyed');

      // `#key=<key>` once in the URL: stored, then taken out of the address bar.
      await keyPage.evaluate(() => localStorage.clear());
      await keyPage.goto(`${originOf(keyed)}/#key=${KEY}`);
      await keyPage.waitForSelector(`${testid('runs-summary')}:has-text("No runs yet")`);
      expect(new URL(keyPage.url()).hash).toBe('#/');
      expect(await keyPage.evaluate(() => localStorage.getItem('filterscope.apiKey'))).toBe(KEY);
      await keyPage.close();
      expect(browser.pageErrors).toEqual([]);
    });
  });
});
