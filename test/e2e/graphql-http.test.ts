import { serverAudits, type AuditResult } from 'graphql-http';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** GraphQL-over-HTTP conformance: graphql-http's server audits against a real server. */
let t: TestServer;
const results: AuditResult[] = [];
beforeAll(async () => {
  t = await startTestServer('pglite');
  const audits = serverAudits({ url: t.server.url, fetchFn: fetch });
  // One at a time: the table reads in the audits' own order and the server is not raced.
  for (const audit of audits) results.push(await audit.fn());
  const rows = results.map((r) => {
    const reason = r.status === 'ok' ? '' : r.reason;
    return `${r.id}  ${r.status.padEnd(6)}  ${r.name}${reason ? `  -- ${reason}` : ''}`;
  });
  const tally = (level: string) => {
    const own = results.filter((r) => r.name.startsWith(`${level} `));
    const by = (status: string) => own.filter((r) => r.status === status).length;
    return `${level}: ${by('ok')} ok, ${by('warn')} warn, ${by('notice')} notice, ${by('error')} error`;
  };
  console.log(
    [
      `graphql-http ${results.length} server audits`,
      ...['MUST', 'SHOULD', 'MAY'].map(tally),
      ...rows,
    ].join('\n'),
  );
});
const CREATE = `mutation { createArchitecture(input: { name: "never-stored", inputShape: [8, 8, 1],
  labels: 2, blocks: [{ kind: CONV, filters: 2 }] }) { id } }`;
const count = async () =>
  (await t.gql<{ architectures: { totalCount: number } }>(`{ architectures { totalCount } }`)).data!
    .architectures.totalCount;

afterAll(async () => {
  await t?.stop();
});

/** A multipart form, as an HTML form posts it, with the operation as a field. */
function formData(query: string): FormData {
  const form = new FormData();
  form.set('query', query);
  return form;
}

describe('graphql-http server audits', () => {
  it('runs every audit', () => {
    expect(results.length).toBeGreaterThan(0);
  });

  it('passes every MUST audit', () => {
    const failed = results
      .filter((r) => r.name.startsWith('MUST ') && r.status !== 'ok')
      .map((r) => `${r.id} ${r.name}: ${r.status === 'ok' ? '' : r.reason}`);
    expect(failed).toEqual([]);
  });
});

describe('HTTP edges the audits do not cover', () => {
  it('keeps CSRF prevention on: a cross-site "simple" POST runs nothing, a GET needs a preflight header', async () => {
    const before = await count();
    // What a page on another site can send without asking first: a form, or fetch with a
    // string body (text/plain). Neither is JSON, so each is refused before the body is read.
    const simple: { body: string | URLSearchParams | FormData; type: string }[] = [
      { body: JSON.stringify({ query: CREATE }), type: 'text/plain' },
      { body: new URLSearchParams({ query: CREATE }), type: 'application/x-www-form-urlencoded' },
      { body: formData(CREATE), type: 'multipart/form-data' },
    ];
    for (const { body, type } of simple) {
      const res = await fetch(t.server.url, { method: 'POST', body });
      expect([type, res.status]).toEqual([type, 415]);
      const json = (await res.json()) as { errors: { message: string; extensions: object }[] };
      expect(json.errors[0]?.message).toContain('send the header "content-type: application/json"');
      expect(json.errors[0]?.message).toContain(type);
      expect(json.errors[0]?.extensions).toEqual({ code: 'BAD_REQUEST' });
    }
    expect(await count()).toBe(before);
    const url = new URL(t.server.url);
    url.searchParams.set('query', '{ __typename }');
    const get = await fetch(url);
    expect(get.status).toBe(400);
    expect(((await get.json()) as { errors: { message: string }[] }).errors[0]?.message).toContain(
      '"apollo-require-preflight: 1"',
    );
    const preflighted = await fetch(url, { headers: { 'apollo-require-preflight': 'true' } });
    expect(preflighted.status).toBe(200);
    expect(await preflighted.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it('answers 405 with Allow to methods other than GET and POST, with or without a content-type', async () => {
    for (const method of ['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD']) {
      const variants: Record<string, string>[] = [{}, { 'content-type': 'application/json' }];
      for (const headers of variants) {
        const res = await fetch(t.server.url, { method, headers });
        expect([method, res.status]).toEqual([method, 405]);
        expect(res.headers.get('allow')).toBe('GET, POST');
      }
    }
  });

  it('answers 406 before running anything when no JSON media type is acceptable', async () => {
    const before = await count();
    for (const accept of ['text/html', 'application/json;q=0, text/html', 'image/*']) {
      const res = await fetch(t.server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept },
        body: JSON.stringify({ query: CREATE }),
      });
      expect([accept, res.status]).toEqual([accept, 406]);
    }
    expect(await count()).toBe(before);
    for (const accept of ['application/*', 'application/json; charset=utf-8', '*/*;q=0.1']) {
      const res = await fetch(t.server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      expect([accept, res.status]).toEqual([accept, 200]);
    }
  });

  it('answers 415 to a POST body with no content-type or any but JSON, naming what it got', async () => {
    const post = (headers: Record<string, string>, body: string) =>
      fetch(t.server.url, { method: 'POST', headers, body: new TextEncoder().encode(body) });
    const cases: [Record<string, string>, string][] = [
      [{}, 'got no content-type'],
      [{ 'content-type': 'application/xml' }, 'got content-type "application/xml"'],
      [
        { 'content-type': 'text/plain', 'apollo-require-preflight': 'true' },
        'got content-type "text/plain"',
      ],
    ];
    for (const [headers, got] of cases) {
      const res = await post(headers, JSON.stringify({ query: '{ __typename }' }));
      expect([got, res.status]).toEqual([got, 415]);
      const json = (await res.json()) as { errors: { message: string }[] };
      expect(json.errors[0]?.message).toContain(got);
    }
  });

  it('answers 400 BAD_REQUEST to malformed JSON and to a body that is not an object', async () => {
    for (const body of ['{ "not a JSON', '[1, 2]', '"query"', 'null']) {
      const res = await fetch(t.server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(res.status).toBe(400);
      const json = (await res.json()) as { errors: { extensions: { code: string } }[] };
      expect(json.errors[0]?.extensions.code).toBe('BAD_REQUEST');
    }
  });

  it('uses application/graphql-response+json with 400 for a parse error when the client accepts it', async () => {
    const res = await fetch(t.server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ query: '{' }),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/graphql-response+json');
    const json = (await res.json()) as Record<string, unknown>;
    expect(json).not.toHaveProperty('data');
  });
});
