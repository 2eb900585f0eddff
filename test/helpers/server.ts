import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { startServer, type RunningServer } from '../../src/server/app.js';
import { freshHome, freshPostgresDatabase, type DatabaseKind } from './database.js';

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  data?: T;
  errors?: { message: string; path?: string[]; extensions?: Record<string, unknown> }[];
}

export interface TestServer {
  readonly server: RunningServer;
  readonly config: Config;
  /** POSTs one operation to /graphql over real HTTP. */
  gql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<GraphQLResponse<T>>;
  /** A graphql-ws client on the same port; closed by `stop`. */
  ws(connectionParams?: Record<string, unknown>): Client;
  /**
   * Shuts the server down gracefully (as SIGTERM does), waits `downMs`, and starts it again on the
   * same home (or database) and port; `server` is the new one afterwards.
   */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a real server on a free port over a fresh PGlite copy or a fresh PostgreSQL database. */
export async function startTestServer(
  kind: DatabaseKind = 'pglite',
  env: Record<string, string> = {},
): Promise<TestServer> {
  const home = freshHome();
  const pg = kind === 'postgres' ? await freshPostgresDatabase() : null;
  const config = loadConfig({
    PORT: '0',
    FILTERSCOPE_HOME: home.home,
    FILTERSCOPE_RUNNERS: '0',
    ...(pg ? { DATABASE_URL: pg.url } : {}),
    ...env,
  });
  const log = createLogger(process.env.TEST_LOG_LEVEL === 'debug' ? 'debug' : 'error');
  let server = await startServer(config, log);
  const clients: Client[] = [];
  return {
    get server() {
      return server;
    },
    config,
    async gql(query, variables, headers = {}) {
      const res = await fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query, variables }),
      });
      return { status: res.status, ...((await res.json()) as object) };
    },
    ws(connectionParams) {
      const client = createClient({
        url: server.wsUrl,
        ...(connectionParams ? { connectionParams } : {}),
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: true,
      });
      clients.push(client);
      return client;
    },
    async restart(downMs = 0) {
      await server.close();
      await new Promise((resolve) => setTimeout(resolve, downMs));
      server = await startServer({ ...config, port: server.port }, log);
    },
    async stop() {
      await Promise.all(clients.map((c) => c.dispose()));
      await server.close();
      await pg?.cleanup();
      home.cleanup();
    },
  };
}

/** Runs one query over graphql-ws and returns its single result. */
export function wsQuery<T>(
  client: Client,
  query: string,
  variables?: Record<string, unknown>,
): Promise<GraphQLResponse<T>> {
  return new Promise((resolve, reject) => {
    let result: GraphQLResponse<T> | undefined;
    client.subscribe<T>(
      { query, variables },
      {
        next: (value) => {
          result = { status: 0, ...(value as object) } as GraphQLResponse<T>;
        },
        error: reject,
        complete: () =>
          result ? resolve(result) : reject(new Error('completed without a result')),
      },
    );
  });
}

/** Collects every `next` of a subscription until it completes (or `stopAfter` items arrived). */
export function collect<T>(
  client: Client,
  query: string,
  variables: Record<string, unknown>,
  options: { stopAfter?: number; until?: (item: T) => boolean } = {},
): Promise<{ items: T[]; errors: unknown[] }> {
  return new Promise((resolve, reject) => {
    const items: T[] = [];
    const errors: unknown[] = [];
    let dispose: () => void = () => undefined;
    // Messages already on the wire still arrive after dispose(): once stopped, ignore them.
    let stopped = false;
    const done = () => {
      stopped = true;
      resolve({ items, errors });
    };
    dispose = client.subscribe<T>(
      { query, variables },
      {
        next: (value) => {
          if (stopped) return;
          if (value.errors) errors.push(...value.errors);
          const data = value.data as Record<string, T> | undefined | null;
          if (data) {
            const item = Object.values(data)[0] as T;
            items.push(item);
          }
          const last = items[items.length - 1];
          const stop =
            (options.stopAfter !== undefined && items.length >= options.stopAfter) ||
            (last !== undefined && options.until?.(last) === true);
          if (stop) {
            dispose();
            done();
          }
        },
        error: reject,
        complete: done,
      },
    );
  });
}

/** POSTs one operation to `url` (a /graphql URL) over HTTP; throws on GraphQL errors. */
export async function gqlAt<T>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data: T; errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}
