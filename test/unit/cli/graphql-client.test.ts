import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  GraphQLClient,
  GraphQLRequestError,
  ServerUnreachableError,
  backoffMs,
  endpointOf,
} from '../../../src/cli/graphql-client.js';
import { followSubscription } from '../../../src/cli/subscriptions.js';

/** A port with nothing listening: bind one, then close it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('GraphQL client', () => {
  let server: Server;
  let url: string;
  const seen: { authorization?: string; body: string }[] = [];
  let answers: { status: number; body: string }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        seen.push({ authorization: req.headers.authorization, body });
        const answer = answers.shift() ?? { status: 200, body: '{"data":{"ok":true}}' };
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(answer.body);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => {
    seen.length = 0;
    answers = [];
  });

  it('backs off from 250 ms doubling to 5 s', () => {
    expect([0, 1, 2, 3, 4, 5, 20].map(backoffMs)).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000]);
  });

  it('sends the API key as a bearer token and returns data', async () => {
    const client = new GraphQLClient(endpointOf(url, 'sekrit-key'), { retryForMs: 1000 });
    await expect(client.request('ok', '{ ok }', { a: 1 })).resolves.toEqual({ ok: true });
    expect(seen[0]!.authorization).toBe('Bearer sekrit-key');
    expect(JSON.parse(seen[0]!.body)).toEqual({ query: '{ ok }', variables: { a: 1 } });
    await new GraphQLClient(endpointOf(url, null), { retryForMs: 1000 }).request('ok', '{ ok }');
    expect(seen[1]!.authorization).toBeUndefined();
  });

  it('throws GraphQL errors with their code at once, without retrying', async () => {
    answers = [
      {
        status: 401,
        body: '{"errors":[{"message":"the API key is not valid","extensions":{"code":"UNAUTHENTICATED"}}]}',
      },
    ];
    const client = new GraphQLClient(endpointOf(url, 'wrong'), { retryForMs: 5000 });
    const error = await client.request('run', '{ run }').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GraphQLRequestError);
    expect(error).toMatchObject({
      message: 'the API key is not valid',
      code: 'UNAUTHENTICATED',
      operation: 'run',
    });
    expect(seen).toHaveLength(1);
  });

  it('retries a query through 503s, but not a mutation', async () => {
    answers = [
      { status: 503, body: '{}' },
      { status: 503, body: '{}' },
    ];
    const notices: string[] = [];
    const client = new GraphQLClient(endpointOf(url, null), {
      retryForMs: 10_000,
      onRetry: (n) => notices.push(`${n.operation} ${n.reason}`),
    });
    await expect(client.request('q', '{ ok }')).resolves.toEqual({ ok: true });
    expect(notices).toEqual(['q HTTP 503', 'q HTTP 503']);
    answers = [{ status: 503, body: '{"errors":[{"message":"shutting down"}]}' }];
    await expect(client.request('m', 'mutation { go }')).rejects.toMatchObject({
      code: 'HTTP_503',
    });
  });

  it('gives up on an unreachable server after the retry window, naming it', async () => {
    const port = await closedPort();
    const client = new GraphQLClient(endpointOf(`http://127.0.0.1:${port}/graphql`, null), {
      retryForMs: 600,
    });
    const started = Date.now();
    const error = await client.request('datasets', 'mutation { x }').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerUnreachableError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^datasets: http://127.0.0.1:${port}/graphql unreachable for \\d+ s \\(ECONNREFUSED\\)$`,
      ),
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
  });

  it('gives up following a subscription when the WebSocket never connects', async () => {
    const port = await closedPort();
    const disconnects: string[] = [];
    const error = await followSubscription({
      endpoint: endpointOf(`http://127.0.0.1:${port}/graphql`, null),
      query: 'subscription($after: Int) { s(after: $after) { sequence } }',
      variables: {},
      field: 's',
      isFinal: () => true,
      onEvent: () => undefined,
      retryForMs: 700,
      onDisconnect: (d) => disconnects.push(d.reason),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerUnreachableError);
    expect((error as Error).message).toContain(`s: ws://127.0.0.1:${port}/graphql unreachable`);
    expect(disconnects.length).toBeGreaterThanOrEqual(1);
  });
});
