import { getIntrospectionQuery } from 'graphql';
import { collect, startTestServer, wsQuery, type TestServer } from '../helpers/server.js';

/** Depth, cost, launch-rate, queue and subscription limits, over real HTTP and WebSocket. */
jest.setTimeout(120_000);
describe('limits', () => {
  let t: TestServer;
  let architectureId: string;
  const ALICE = { authorization: 'Bearer alice-secret-0123456789' };
  const BOB = { authorization: 'Bearer bob-secret-0123456789' };

  beforeAll(async () => {
    t = await startTestServer('pglite', {
      FILTERSCOPE_API_KEYS: 'alice=alice-secret-0123456789,bob=bob-secret-0123456789',
      FILTERSCOPE_LAUNCHES_PER_MINUTE: '4',
      FILTERSCOPE_MAX_QUEUED_JOBS: '2',
      FILTERSCOPE_MAX_SUBSCRIPTIONS: '3',
    });
    const arch = await t.gql<{ createArchitecture: { id: string } }>(
      `mutation { createArchitecture(input: { name: "tiny", inputShape: [8, 8, 3], labels: 4,
        blocks: [{ kind: CONV, filters: 2 }] }) { id } }`,
      {},
      ALICE,
    );
    architectureId = arch.data!.createArchitecture.id;
  });
  afterAll(async () => {
    await t?.stop();
  });

  const START = (
    alias: string,
  ) => `${alias}: startTraining(input: { architectureId: $a, dataset: "procedural",
    datasetOptions: { imageSize: 8, labels: 4, trainSize: 64, testSize: 32 }, hyperparameters: { epochs: 1 } }) { id }`;
  const runCount = async () =>
    (await t.gql<{ runs: { totalCount: number } }>(`{ runs { totalCount } }`, {}, ALICE)).data!.runs
      .totalCount;

  it('refuses a query nested deeper than 12 fields, on HTTP and WebSocket', async () => {
    let deep = 'name';
    for (let i = 0; i < 7; i++) deep = `layers { architecture { ${deep} } }`;
    const query = `{ architecture(name: "VGG-16/CIFAR-10") { ${deep} } }`;
    const http = await t.gql(query, {}, ALICE);
    expect(http.status).toBe(400);
    expect(http.errors?.[0]?.extensions).toMatchObject({
      code: 'GRAPHQL_VALIDATION_FAILED',
      limit: 12,
    });
    const ws = await wsQuery(t.ws(ALICE), query).catch((errors: unknown) => ({ errors }));
    expect(JSON.stringify(ws)).toMatch(/fields deep; the limit is 12/);
    // A fragment does not hide depth.
    const viaFragment = await t.gql(
      `query { architecture(name: "VGG-16/CIFAR-10") { ...F } } fragment F on Architecture { ${deep} }`,
      {},
      ALICE,
    );
    expect(viaFragment.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('answers the standard introspection query (ofType chains do not count toward depth), but counts every other introspection field', async () => {
    // What GraphiQL (the explorer) and other tools send: `ofType` nested eight deep.
    const query = getIntrospectionQuery({
      descriptions: true,
      specifiedByUrl: true,
      directiveIsRepeatable: true,
      schemaDescription: true,
      inputValueDeprecation: true,
    });
    const full = await t.gql<{ __schema: { subscriptionType: { name: string } } }>(
      query,
      {},
      ALICE,
    );
    expect(full.errors).toBeUndefined();
    expect(full.data!.__schema.subscriptionType.name).toBe('Subscription');
    // fields → type → fields fans out at every level: that nesting still counts.
    let nest = 'name';
    for (let i = 0; i < 6; i++) nest = `fields { type { ${nest} } }`;
    const fanOut = await t.gql(`{ __schema { types { ${nest} } } }`, {}, ALICE);
    expect(fanOut.errors?.[0]?.extensions).toMatchObject({
      code: 'GRAPHQL_VALIDATION_FAILED',
      depth: 15,
      limit: 12,
    });
  });

  it('prices matrices and pages: too costly a query is BAD_USER_INPUT before it runs', async () => {
    const probe = Buffer.from('Probe:1').toString('base64url');
    const costly = `query($p: ID!, $n: Int) { probe(id: $p) { layers { filters(first: $n) {
      nodes { correlation { svg rows } } } } } }`;
    const refused = await t.gql(costly, { p: probe, n: 200 }, ALICE);
    expect(refused.status).toBe(400);
    expect(refused.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'query',
      limit: 1_000_000,
    });
    expect(refused.errors?.[0]?.message).toMatch(/estimated cost \d+ is over the limit/);
    // The same shape asking for fewer filters runs (and finds no such probe).
    const fine = await t.gql(costly, { p: probe, n: 5 }, ALICE);
    expect(fine.errors).toBeUndefined();
    expect(fine.data).toEqual({ probe: null });
  });

  it('rate-limits job launches per key (aliases count) and queues nothing when refused', async () => {
    const before = await runCount();
    const three = await t.gql(
      `mutation($a: ID!) { ${START('a')} ${START('b')} ${START('c')} ${START('d')} ${START('e')} }`,
      { a: architectureId },
      ALICE,
    );
    expect(three.status).toBe(429);
    expect(three.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED' });
    expect(three.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThan(0);
    expect(await runCount()).toBe(before);
  });

  it('caps queued jobs per key; another key still has room', async () => {
    const before = await runCount();
    const two = await t.gql(
      `mutation($a: ID!) { ${START('a')} ${START('b')} }`,
      { a: architectureId },
      ALICE,
    );
    expect(two.errors).toBeUndefined();
    const third = await t.gql(`mutation($a: ID!) { ${START('a')} }`, { a: architectureId }, ALICE);
    expect(third.errors?.[0]?.extensions).toMatchObject({
      code: 'RATE_LIMITED',
      limit: 2,
      queued: 2,
    });
    expect(third.errors?.[0]?.message).toMatch(/alice already has 2 queued jobs/);
    expect(await runCount()).toBe(before + 2);
    const bob = await t.gql(`mutation($a: ID!) { ${START('a')} }`, { a: architectureId }, BOB);
    expect(bob.errors).toBeUndefined();
    expect(await runCount()).toBe(before + 3);
  });

  it('limits concurrent subscriptions per WebSocket connection', async () => {
    const client = t.ws(ALICE);
    const open: (() => void)[] = [];
    for (let i = 0; i < 3; i++)
      open.push(
        client.subscribe(
          { query: `subscription { runUpdated { sequence } }` },
          { next: () => undefined, error: () => undefined, complete: () => undefined },
        ),
      );
    const fourth = await collect(client, `subscription { runUpdated { sequence } }`, {}).catch(
      (errors: unknown) => ({ items: [], errors: errors as unknown[] }),
    );
    expect(JSON.stringify(fourth.errors)).toMatch(/RATE_LIMITED|already has 3 operations running/);
    open.shift()!();
    await new Promise((r) => setTimeout(r, 200));
    const again = await wsQuery<{ datasets: unknown[] }>(client, `{ datasets { name } }`);
    expect(again.data!.datasets.length).toBeGreaterThan(0);
    for (const dispose of open) dispose();
  });
});
