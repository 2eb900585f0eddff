import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/**
 * The API explorer (GraphiQL from node_modules) driven in headless Chromium against a real keyed
 * server, with every request to anything but that server aborted and recorded: the page loads,
 * asks for a key, then runs a query and a live subscription from its editor. Screenshots go to
 * test-artifacts/screenshots/explorer-*.png.
 */
jest.setTimeout(120_000);

// Browser globals used by the page functions below (this project compiles without the DOM
// library). GraphiQL's editors are CodeMirror 5: the wrapper element holds the editor instance,
// which is how the result pane is read.
interface CodeMirrorElement {
  CodeMirror: { getValue(): string };
}
declare const document: { querySelector(selector: string): unknown };
declare const localStorage: { getItem(key: string): string | null };

interface Frame {
  readonly type: string;
  readonly id?: string;
  readonly payload?: unknown;
}

const KEY = 'explorer-test-key-0123456789';
const AUTH = { authorization: `Bearer ${KEY}` };
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

const originOf = (t: TestServer) => t.server.url.replace(/\/graphql$/, '');
const testid = (id: string) => `[data-testid="${id}"]`;

/**
 * Types `text` over everything in GraphiQL's query editor, as a paste would, and waits until
 * GraphiQL has parsed it: the tab takes the operation's `name`. (GraphiQL reads the editor after
 * a short debounce; ▶ pressed before that runs the previous document.)
 */
async function typeQuery(page: Page, text: string, name: string): Promise<void> {
  await page.click('.graphiql-query-editor .CodeMirror');
  await page.keyboard.press('Control+A');
  await page.keyboard.insertText(text);
  await page.waitForSelector(`.graphiql-tab-active:has-text("${name}")`);
}

/** The text of GraphiQL's result pane. */
const resultText = (page: Page): Promise<string> =>
  page.evaluate(
    () =>
      (
        document.querySelector('.graphiql-response .CodeMirror') as CodeMirrorElement | null
      )?.CodeMirror.getValue() ?? '',
  );

describe('the API explorer', () => {
  let t: TestServer;
  let browser: TestBrowser;
  let page: Page;
  /** Requests the page tried to send anywhere but the server: each was aborted. */
  const leaked: string[] = [];
  const requested: string[] = [];
  const sockets: string[] = [];
  /** graphql-ws frames the page received and sent, parsed. */
  const frames: Frame[] = [];
  const sent: Frame[] = [];

  beforeAll(async () => {
    [t, browser] = await Promise.all([
      startTestServer('pglite', {
        FILTERSCOPE_RUNNERS: '1',
        FILTERSCOPE_API_KEYS: `tester=${KEY}:write`,
      }),
      launchBrowser(),
    ]);
    const origin = originOf(t);
    await browser.context.route('**/*', async (route) => {
      const url = route.request().url();
      if (new URL(url).origin === origin) return route.continue();
      leaked.push(url);
      return route.abort('blockedbyclient');
    });
    page = await browser.newPage();
    page.on('request', (request) => requested.push(request.url()));
    page.on('websocket', (socket) => {
      sockets.push(socket.url());
      socket.on('framereceived', ({ payload }) =>
        frames.push(JSON.parse(String(payload)) as Frame),
      );
      socket.on('framesent', ({ payload }) => sent.push(JSON.parse(String(payload)) as Frame));
    });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  it('is what a browser gets at GET /graphql (and at /explorer), while GraphQL clients still get JSON', async () => {
    for (const path of ['/graphql', '/explorer']) {
      const res = await fetch(`${originOf(t)}${path}`, { headers: { accept: BROWSER_ACCEPT } });
      expect([path, res.status]).toEqual([path, 200]);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await res.text()).toContain('/dashboard/vendor/graphiql.js');
    }
    const url = `${t.server.url}?query=${encodeURIComponent('{ __typename }')}`;
    for (const accept of ['application/json', '*/*', 'application/graphql-response+json']) {
      const res = await fetch(url, {
        headers: { accept, 'apollo-require-preflight': '1', ...AUTH },
      });
      expect([accept, res.status]).toEqual([accept, 200]);
      expect(await res.json()).toEqual({ data: { __typename: 'Query' } });
    }
  });

  it('loads from the server alone, asks for the API key, then reads the schema with it', async () => {
    await page.goto(t.server.url);
    // Without a key the schema fetch is refused with 401, and the key form says why.
    const form = page.locator(testid('key-form'));
    await form.waitFor();
    expect(await form.textContent()).toContain('an API key is required');
    await browser.screenshot(page, 'explorer-key-form');

    await page.fill(testid('key-input'), KEY);
    await page.click(testid('key-submit'));
    await page.waitForSelector('.graphiql-query-editor .CodeMirror');
    expect(await page.evaluate(() => localStorage.getItem('filterscope.apiKey'))).toBe(KEY);
    expect(await page.locator(testid('key-form')).count()).toBe(0);

    // The documentation explorer lists the schema's root types, read by introspection.
    await page.click('[aria-label="Show Documentation Explorer"]');
    await page.waitForSelector('.graphiql-doc-explorer-root-type:has-text("Subscription")');
    await page.click(
      '.graphiql-doc-explorer-section-content a.graphiql-doc-explorer-type-name:text-is("Subscription")',
    );
    await page.waitForSelector('.graphiql-doc-explorer-field-name:has-text("trainingProgress")');
    await browser.screenshot(page, 'explorer-docs');
    // Closed again, so the editors have the width for the next pictures.
    await page.click('[aria-label="Hide Documentation Explorer"]');
  });

  it('runs a query typed into its editor and shows the server’s answer', async () => {
    const query = [
      'query Preset {',
      '  architecture(name: "VGG-6/28x28x1") {',
      '    name',
      '    parameterCount',
      '    layers { name }',
      '  }',
      '}',
    ].join('\n');
    await typeQuery(page, query, 'Preset');
    await page.click('.graphiql-execute-button');
    await page.waitForFunction(
      () =>
        (
          document.querySelector('.graphiql-response .CodeMirror') as CodeMirrorElement | null
        )?.CodeMirror.getValue().includes('parameterCount') === true,
    );
    const shown = JSON.parse(await resultText(page)) as unknown;
    const direct = await t.gql(query, {}, AUTH);
    expect(shown).toEqual({ data: direct.data });
    await browser.screenshot(page, 'explorer-query');
  });

  it('runs a subscription over the server’s WebSocket and shows each event as it arrives', async () => {
    // From the first sequence: no race with the run started below, and no run existed before, so
    // every event shown arrives while the run trains.
    await typeQuery(
      page,
      [
        'subscription RunStatuses {',
        '  runUpdated(afterSequence: 0) {',
        '    runId',
        '    status',
        '    sequence',
        '  }',
        '}',
      ].join('\n'),
      'RunStatuses',
    );
    await page.click('.graphiql-execute-button');
    await sleepUntil(() => sent.some((f) => f.type === 'subscribe'));

    const arch = await t.gql<{ createArchitecture: { id: string } }>(
      `mutation { createArchitecture(input: { name: "explorer-tiny", inputShape: [8, 8, 3], labels: 3,
        blocks: [{ kind: CONV, filters: 4 }, { kind: MAX_POOL }] }) { id } }`,
      {},
      AUTH,
    );
    expect(arch.errors).toBeUndefined();
    const run = await t.gql<{ startTraining: { id: string } }>(
      `mutation($a: ID!) { startTraining(input: { architectureId: $a, dataset: "procedural",
        datasetOptions: { imageSize: 8, labels: 3, trainSize: 64, testSize: 32 },
        hyperparameters: { epochs: 1, batchSize: 32, augmentation: NONE } }) { id } }`,
      { a: arch.data!.createArchitecture.id },
      AUTH,
    );
    expect(run.errors).toBeUndefined();
    const runId = run.data!.startTraining.id;

    // Watch the result pane while the run trains: it shows each status as it arrives.
    const shown: string[] = [];
    let pictured = false;
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline && shown.at(-1) !== 'SUCCEEDED') {
      const text = await resultText(page);
      const update = text
        ? (JSON.parse(text) as { data?: { runUpdated?: { runId: string; status: string } } }).data
            ?.runUpdated
        : undefined;
      if (update?.runId === runId && shown.at(-1) !== update.status) shown.push(update.status);
      if (update?.status === 'RUNNING' && !pictured) {
        await browser.screenshot(page, 'explorer-subscription');
        pictured = true;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    console.log(`explorer: runUpdated statuses shown in the result pane: ${shown.join(' → ')}`);
    expect(shown.at(-1)).toBe('SUCCEEDED');

    // Every status change reached the page as its own `next` frame, in order.
    const received = frames
      .filter((f) => f.type === 'next')
      .map((f) => (f.payload as { data: { runUpdated: { runId: string; status: string } } }).data)
      .filter((d) => d.runUpdated.runId === runId)
      .map((d) => d.runUpdated.status);
    expect(received).toContain('RUNNING');
    expect(received.at(-1)).toBe('SUCCEEDED');
    expect(shown.every((status) => received.includes(status))).toBe(true);
    await browser.screenshot(page, 'explorer-subscription-done');
    // Stop it (the execute button stops a running subscription).
    await page.click('.graphiql-execute-button');
  });

  it('shares its key with the dashboard, whose header links back to it', async () => {
    await page.goto(`${originOf(t)}/`);
    await page.waitForSelector(testid('run-row'));
    expect(await page.locator(testid('key-form')).count()).toBe(0);
    await page.click(testid('nav-explorer'));
    await page.waitForSelector('.graphiql-query-editor .CodeMirror');
    expect(new URL(page.url()).pathname).toBe('/explorer');
  });

  it('sent nothing anywhere but the server, and raised no error', () => {
    const origin = originOf(t);
    expect(leaked).toEqual([]);
    expect(requested.length).toBeGreaterThan(0);
    expect(requested.filter((url) => !url.startsWith(`${origin}/`))).toEqual([]);
    expect(sockets.length).toBeGreaterThan(0);
    expect(new Set(sockets)).toEqual(new Set([t.server.wsUrl]));
    expect(browser.pageErrors).toEqual([]);
  });
});

async function sleepUntil(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a condition');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
