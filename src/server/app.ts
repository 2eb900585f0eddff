import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import type { ApolloServerPlugin } from '@apollo/server';
import {
  GraphQLError,
  parse,
  validate,
  type DocumentNode,
  type GraphQLFormattedError,
} from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { buildAppSchema, type GraphQLContext } from '../api/schema.js';
import { createContainer, createServices, type Services } from '../api/services.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { openStore, pgliteDirOf, ping, type Store } from '../store/db.js';
import { appliedMigrationCount, expectedMigrationCount, migrate } from '../store/migrate.js';
import { EventBus } from '../events/bus.js';
import { startRunners } from '../jobs/start.js';
import type { Runner } from '../jobs/runner.js';
import { maskError } from './errors.js';
import { HomeLock } from './home-lock.js';
import { handleGraphQL, sendJson } from './http.js';
import { serveStatic } from './static.js';
import {
  AccessError,
  checkOperationAllowed,
  KeyRing,
  selectedOperation,
  type Principal,
} from './access.js';
import { EXPORT_ROUTE, serveExport } from './export.js';

export const GRAPHQL_PATH = '/graphql';

/** Never used in practice: onConnect records every acknowledged connection's principal. */
const ANONYMOUS_FALLBACK: Principal = { name: 'unknown', role: 'read' };

/** A started server: HTTP and WebSocket on one port, with its store and services. */
export interface RunningServer {
  readonly url: string;
  readonly wsUrl: string;
  readonly port: number;
  readonly store: Store;
  readonly bus: EventBus;
  readonly services: Services;
  readonly runners: readonly Runner[];
  /** Graceful shutdown: stops accepting, closes sockets, waits for requests, closes the database. */
  close(): Promise<void>;
}

/**
 * Opens the database (PGlite under `config.home`, or PostgreSQL), applies migrations, stores the
 * presets, then serves GraphQL over HTTP and WebSocket on `config.port`.
 */
export async function startServer(config: Config, log: Logger): Promise<RunningServer> {
  const lock = config.databaseUrl === null ? HomeLock.acquire(config.home) : null;
  let store: Store | null = null;
  let bus: EventBus | null = null;
  try {
    store = await openStore({
      databaseUrl: config.databaseUrl,
      pgliteDir: pgliteDirOf(config.home),
    });
    await migrate(store);
    const events = new EventBus(store);
    bus = events;
    await events.start();
    const services = createServices(store, events, config);
    const seeded = await services.architectures.seedPresets();
    if (seeded > 0) log.info('stored preset architectures', { count: seeded });
    return await serve(config, log, store, events, services, lock);
  } catch (error) {
    await (bus as EventBus | null)?.stop();
    await store?.close().catch(() => undefined);
    lock?.release();
    throw error;
  }
}

async function serve(
  config: Config,
  log: Logger,
  store: Store,
  bus: EventBus,
  services: Services,
  lock: HomeLock | null,
): Promise<RunningServer> {
  const schema = buildAppSchema();
  const container = createContainer(services);
  const keys = new KeyRing(config.apiKeys);
  const contextOf = (principal: Principal): GraphQLContext => ({ container, services, principal });
  const format = (formatted: GraphQLFormattedError, original: unknown) =>
    maskError(formatted, original, log);

  // Read-only keys: checked once the operation is known, before anything runs.
  const access: ApolloServerPlugin<GraphQLContext> = {
    requestDidStart: async () => ({
      didResolveOperation: async ({ contextValue, operation }) => {
        try {
          checkOperationAllowed(contextValue.principal, operation);
        } catch (error) {
          throw error instanceof AccessError ? error.toGraphQLError() : error;
        }
      },
    }),
  };

  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    introspection: true,
    csrfPrevention: true,
    includeStacktraceInErrorResponses: false,
    formatError: format,
    plugins: [access],
  });
  await apollo.start();

  const expectedMigrations = expectedMigrationCount();
  let closing = false;
  const inFlight = new Set<Promise<void>>();

  /** The request's principal, or null after answering 401 itself. */
  const authenticate = (req: IncomingMessage, res: ServerResponse): Principal | null => {
    try {
      return keys.authenticate(req.headers.authorization);
    } catch (error) {
      if (!(error instanceof AccessError)) throw error;
      res.setHeader('www-authenticate', 'Bearer realm="filterscope"');
      sendJson(res, error.status, {
        errors: [{ message: error.message, extensions: { code: error.code } }],
      });
      return null;
    }
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      if (closing) return sendJson(res, 503, { status: 'shutting down' });
      try {
        await ping(store);
        const applied = await appliedMigrationCount(store);
        if (applied < expectedMigrations) {
          return sendJson(res, 503, {
            status: 'migrations pending',
            applied,
            expected: expectedMigrations,
          });
        }
        return sendJson(res, 200, { status: 'ready', database: store.kind, migrations: applied });
      } catch (error) {
        log.warn('readiness check failed', { error });
        return sendJson(res, 503, { status: 'database unreachable' });
      }
    }
    if (path === GRAPHQL_PATH) {
      const principal = authenticate(req, res);
      if (!principal) return;
      return handleGraphQL(apollo, req, res, async () => contextOf(principal));
    }
    const exported = req.method === 'GET' ? EXPORT_ROUTE.exec(path) : null;
    if (exported) {
      if (!authenticate(req, res)) return;
      return serveExport(exported, services, res);
    }
    if ((req.method === 'GET' || req.method === 'HEAD') && serveStatic(path, res)) return;
    sendJson(res, 404, {
      error: `no route for ${path}`,
      routes: ['/', GRAPHQL_PATH, '/healthz', '/readyz'],
    });
  };

  const http: Server = createServer((req, res) => {
    const work = route(req, res)
      .catch((error: unknown) => {
        log.error('request failed', { error, url: req.url });
        if (!res.headersSent)
          sendJson(res, 500, {
            errors: [
              { message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } },
            ],
          });
        else res.end();
      })
      .finally(() => inFlight.delete(work));
    inFlight.add(work);
  });

  const wss = new WebSocketServer({ server: http, path: GRAPHQL_PATH, maxPayload: 1_000_000 });
  const principals = new WeakMap<object, Principal>();
  const wsServer = useServer<Record<string, unknown>>(
    {
      schema,
      // A bad key closes the socket with 4403 Forbidden (graphql-ws's answer to `false`).
      onConnect: (ctx) => {
        try {
          principals.set(ctx, keys.authenticate(ctx.connectionParams?.authorization));
          return true;
        } catch (error) {
          if (error instanceof AccessError) return false;
          throw error;
        }
      },
      onSubscribe: (ctx, _id, payload) => {
        let document: DocumentNode;
        try {
          document = parse(payload.query);
        } catch (error) {
          return [error as GraphQLError];
        }
        const invalid = validate(schema, document);
        if (invalid.length > 0) return invalid;
        const principal = principals.get(ctx) ?? ANONYMOUS_FALLBACK;
        try {
          checkOperationAllowed(principal, selectedOperation(document, payload.operationName));
        } catch (error) {
          if (error instanceof AccessError) return [error.toGraphQLError()];
          throw error;
        }
        return {
          schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: contextOf(principal),
        };
      },
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => format(e.toJSON(), e)),
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors
          ? { ...result, errors: result.errors.map((e) => format(e.toJSON(), e)) }
          : undefined,
    },
    wss,
  );

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.port, config.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}${GRAPHQL_PATH}`;
  const runners = startRunners(config, store, bus, log);
  log.info('filterscope is serving', {
    url,
    dashboard: url.replace(GRAPHQL_PATH, '/'),
    database: store.kind,
    location: store.location,
    runners: runners.length,
    apiKeys: config.apiKeys.length,
  });
  if (!keys.enabled) {
    const loopback = /^(127\.|::1$|localhost$)/.test(config.host);
    if (loopback)
      log.info(
        'no API keys configured: serving loopback only; set FILTERSCOPE_API_KEYS to serve other hosts',
      );
    else
      log.warn(
        'no API keys configured and HOST is not loopback: anyone who can reach this port may run jobs',
        {
          host: config.host,
        },
      );
  }

  let closed: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      closing = true;
      log.info('shutting down');
      // Runners first: a job in progress goes back to the queue, resumable from its checkpoint.
      await Promise.all(runners.map((r) => r.stop()));
      await bus.stop();
      const httpClosed = new Promise<void>((resolve) => http.close(() => resolve()));
      for (const client of wss.clients) client.close(1001, 'server shutting down');
      await wsServer.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await Promise.allSettled([...inFlight]);
      http.closeIdleConnections();
      await apollo.stop();
      await httpClosed;
      await store.close();
      lock?.release();
      log.info('stopped');
    })();
    return closed;
  };

  return { url, wsUrl: url.replace(/^http/, 'ws'), port, store, bus, services, runners, close };
}
