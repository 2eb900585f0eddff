import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

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
        hyperparameters: { epochs: ${EPOCHS}, batchSize: 32, learningRate: 0.01, augmentation: NONE } }) { id } }`,
      { a: arch.data!.createArchitecture.id },
    );
    expect(run.errors).toBeUndefined();
    runId = run.data!.startTraining.id;

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
    await browser.screenshot(page, 'dashboard-run');
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

  it("opens a layer's grid: one heatmap per filter, sorted by SNR as the API sorts them", async () => {
    const api = await t.gql<{
      probe: {
        layers: {
          layerName: string;
          silentFilters: number;
          layer: { filters: number };
          filters: { nodes: { id: string; index: number; snr: number | null; silent: boolean }[] };
        }[];
      };
    }>(
      `query($p: ID!) { probe(id: $p) { layers { layerName silentFilters layer { filters }
        filters(orderBy: SNR_DESC, first: 200) { nodes { id index snr silent } } } } }`,
      { p: probeId },
    );
    // The layer with the most silent filters (the deepest on a tie), so their marking is checked.
    const layers = api.data!.probe.layers;
    const layer = layers.reduce((best, l) => (l.silentFilters >= best.silentFilters ? l : best));
    console.log(
      `dashboard: silent filters per layer: ${layers.map((l) => `${l.layerName} ${l.silentFilters}/${l.layer.filters}`).join(', ')}; grid of ${layer.layerName}`,
    );
    await page.click(
      `${testid('layer-row')}[data-layer="${layer.layerName}"] ${testid('layer-link')}`,
    );
    const n = layer.layer.filters;
    await page.waitForSelector(`${testid('grid-summary')}:has-text("${n} of ${n}")`);

    const cards = await page.$$eval(testid('filter-card'), (els) =>
      els.map((el) => ({
        id: el.getAttribute('data-filter-id'),
        index: Number(el.getAttribute('data-index')),
        snr: el.getAttribute('data-snr') === '' ? null : Number(el.getAttribute('data-snr')),
        silent: el.getAttribute('data-silent') === 'true',
        heatmaps: el.querySelectorAll('img[data-testid="heatmap"]').length,
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
    // Highest SNR first, filters without noise (null SNR) last.
    const snrs = cards.map((c) => c.snr ?? -Infinity);
    expect(snrs).toEqual([...snrs].sort((a, b) => b - a));
    // Every heatmap image decoded (a broken data: URL would leave naturalWidth at 0).
    await page.waitForFunction(() =>
      [...document.querySelectorAll('img[data-testid="heatmap"]')].every(
        (img) => img.complete === true && (img.naturalWidth ?? 0) > 0,
      ),
    );
    await browser.screenshot(page, 'dashboard-layer');

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
    await page.waitForSelector(`${testid('grid-summary')}:has-text("${nodes.length} of")`);
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
    await browser.screenshot(page, 'dashboard-filter');
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
