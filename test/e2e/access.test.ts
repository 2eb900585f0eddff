import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { startTestServer, wsQuery, type TestServer } from '../helpers/server.js';

/** API keys over real HTTP and WebSocket: who may query, subscribe, mutate, export. */
jest.setTimeout(120_000);
describe('API keys', () => {
  const WRITE = 'admin-secret-0123456789';
  const READ = 'viewer-secret-0123456789';
  let t: TestServer;
  let base: string;
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
  const COUNT = `{ architectures(first: 200) { totalCount } }`;
  const CREATE = `mutation { createArchitecture(input: { name: "keyed", inputShape: [8, 8, 1], labels: 2,
    blocks: [{ kind: CONV, filters: 2 }] }) { id } }`;

  beforeAll(async () => {
    t = await startTestServer('pglite', {
      FILTERSCOPE_API_KEYS: `admin=${WRITE},viewer=${READ}:read`,
    });
    base = t.server.url.replace(/\/graphql$/, '');
  });
  afterAll(async () => {
    await t?.stop();
  });

  const count = async () =>
    (await t.gql<{ architectures: { totalCount: number } }>(COUNT, {}, bearer(WRITE))).data!
      .architectures.totalCount;

  it.each([
    ['no header', {}],
    ['a wrong key', bearer('not-a-key-0123456789')],
    ['a non-Bearer scheme', { authorization: `Basic ${WRITE}` }],
    ['an empty Bearer', { authorization: 'Bearer ' }],
  ])('answers 401 UNAUTHENTICATED to %s, and runs nothing', async (_what, headers) => {
    const before = await count();
    const res = await t.gql(CREATE, {}, headers as Record<string, string>);
    expect(res.status).toBe(401);
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(JSON.stringify(res)).not.toContain(WRITE);
    expect(await count()).toBe(before);
  });

  it('sends WWW-Authenticate with the 401', async () => {
    const res = await fetch(t.server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: COUNT }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('lets a read key query and introspect but not mutate (FORBIDDEN, nothing stored)', async () => {
    const before = await count();
    const read = await t.gql<{ architectures: { totalCount: number } }>(COUNT, {}, bearer(READ));
    expect(read.errors).toBeUndefined();
    expect(read.data!.architectures.totalCount).toBe(before);
    const schema = await t.gql<{ __schema: { mutationType: { name: string } } }>(
      `{ __schema { mutationType { name } } }`,
      {},
      bearer(READ),
    );
    expect(schema.data!.__schema.mutationType.name).toBe('Mutation');
    const denied = await t.gql(CREATE, {}, bearer(READ));
    expect(denied.status).toBe(403);
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(denied.errors?.[0]?.message).toMatch(/viewer.*read-only/);
    expect(await count()).toBe(before);
  });

  it('lets a write key mutate', async () => {
    const before = await count();
    const created = await t.gql<{ createArchitecture: { id: string } }>(CREATE, {}, bearer(WRITE));
    expect(created.errors).toBeUndefined();
    expect(await count()).toBe(before + 1);
    await t.gql(
      `mutation($id: ID!) { deleteArchitecture(id: $id) }`,
      { id: created.data!.createArchitecture.id },
      bearer(WRITE),
    );
  });

  const closeCodeOf = (connectionParams?: Record<string, unknown>) =>
    new Promise<number>((resolve, reject) => {
      const client = createClient({
        url: t.server.wsUrl,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: true,
        ...(connectionParams ? { connectionParams } : {}),
        on: { closed: (event) => resolve((event as { code: number }).code) },
      });
      client.subscribe(
        { query: COUNT },
        {
          next: () => undefined,
          error: () => undefined,
          complete: () => reject(new Error('a keyless socket was served')),
        },
      );
    });

  it('closes a WebSocket without a valid key with 4403', async () => {
    expect(await closeCodeOf()).toBe(4403);
    expect(await closeCodeOf(bearer('wrong-key-0123456789'))).toBe(4403);
    expect(await closeCodeOf({ authorization: WRITE })).toBe(4403);
  });

  it('serves a read key over WebSocket, but not its mutations', async () => {
    const client = t.ws(bearer(READ));
    const read = await wsQuery<{ architectures: { totalCount: number } }>(client, COUNT);
    expect(read.data!.architectures.totalCount).toBeGreaterThan(0);
    const before = await count();
    const denied = await wsQuery(client, CREATE).catch((errors: unknown) => ({ errors }));
    expect(JSON.stringify(denied)).toContain('FORBIDDEN');
    expect(await count()).toBe(before);
    const writer = t.ws(bearer(WRITE));
    const ok = await wsQuery<{ createArchitecture: { id: string } }>(writer, CREATE);
    expect(ok.errors).toBeUndefined();
    expect(await count()).toBe(before + 1);
  });

  it('guards the exports with the same keys; health, readiness and the dashboard page are open', async () => {
    const run = Buffer.from('TrainingRun:1').toString('base64url');
    const keyless = await fetch(`${base}/export/runs/${run}/metrics.csv`);
    expect(keyless.status).toBe(401);
    const keyed = await fetch(`${base}/export/runs/${run}/metrics.csv`, { headers: bearer(READ) });
    expect(keyed.status).toBe(404);
    for (const path of ['/healthz', '/readyz', '/'])
      expect((await fetch(`${base}${path}`)).status).toBe(200);
  });
});
