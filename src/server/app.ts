import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { buildAppSchema, type GraphQLContext } from '../api/schema.js';
import { createContainer } from '../api/container.js';
import { createServices, type Services } from '../api/services.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { openStore, pgliteDirOf, ping, type Store } from '../store/db.js';
import { appliedMigrationCount, expectedMigrationCount, migrate } from '../store/migrate.js';
import { EventBus } from '../events/bus.js';
import { startRunners } from '../jobs/start.js';
import type { Runner } from '../jobs/runner.js';
import { AccessError, KeyRing, type Principal } from './access.js';
import { isClientError, isDatabaseUnavailable, maskError } from './errors.js';
import { EXPORT_ROUTE, serveExport } from './export.js';
import { OperationGuard } from './guard.js';
import { HomeLock } from './home-lock.js';
import { handleGraphQL, prefersHtml, sendJson } from './http.js';
import { depthLimit } from './limits.js';
import { Metrics } from './metrics.js';
import { EXPLORER_PATH, serveStatic } from './static.js';
import { attachWebSocket } from './ws.js';

export const GRAPHQL_PATH = '/graphql';

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
  const contextOf = (principal: Principal, requestId: string): GraphQLContext => ({
    container,
    services,
    principal,
    requestId,
  });
  const http: Server = createServer();
  // Keys' roles, cost and launch rate: checked once the operation is known, before anything runs.
  const guard = new OperationGuard(schema, config);
  const metrics = new Metrics(store, () => ws.stats());
  const ws = attachWebSocket({
    http,
    path: GRAPHQL_PATH,
    schema,
    keys,
    guard,
    maxSubscriptions: config.maxSubscriptions,
    contextOf,
    metrics,
    log,
  });

  const unavailable = new WeakSet<object>();
  const observe: ApolloServerPlugin<GraphQLContext> = {
    requestDidStart: async () => ({
      didResolveOperation: async ({ contextValue, document, operation, request }) => {
        if (operation?.operation === 'subscription')
          throw new GraphQLError(
            `subscriptions are served over WebSocket (graphql-transport-ws) at ${GRAPHQL_PATH}, not over HTTP`,
            { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } },
          );
        guard.check(contextValue.principal, document, operation, request.variables ?? {});
      },
      didEncounterErrors: async (request) => {
        const { contextValue, errors } = request;
        for (const error of errors) {
          const code = isDatabaseUnavailable(error)
            ? 'SERVICE_UNAVAILABLE'
            : error.extensions?.code;
          metrics.error(isClientError(code) ? String(code) : 'INTERNAL_SERVER_ERROR', 'http');
          if (code === 'SERVICE_UNAVAILABLE') unavailable.add(request);
          if (code === 'SERVICE_UNAVAILABLE')
            log.warn('the database is unavailable', { requestId: contextValue.requestId, error });
          else if (!isClientError(code))
            log.error('unexpected error in a GraphQL operation', {
              requestId: contextValue.requestId,
              error: error.originalError ?? error,
              path: error.path,
            });
        }
      },
      // A database outage is a 503 with Retry-After, so clients and proxies retry.
      willSendResponse: async (request) => {
        if (!unavailable.has(request) || !request.response.http) return;
        request.response.http.status = 503;
        request.response.http.headers.set('retry-after', '2');
      },
    }),
  };

  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    introspection: true,
    csrfPrevention: true,
    includeStacktraceInErrorResponses: false,
    // Our own SIGTERM handling gives jobs back and closes the database; Apollo's (on whenever
    // NODE_ENV is not `test`) would re-raise the signal and kill the process half-way.
    stopOnTerminationSignals: false,
    // Logged with the request id by `observe`; masked here.
    formatError: (formatted: GraphQLFormattedError, original: unknown) =>
      maskError(formatted, original, null),
    validationRules: [depthLimit()],
    // Apollo's default landing page loads its Sandbox from the internet; a browser opening
    // /graphql gets the explorer served from this package instead (see `route`).
    plugins: [observe, ApolloServerPluginLandingPageDisabled()],
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

  const ready = async (res: ServerResponse): Promise<void> => {
    if (closing) return sendJson(res, 503, { status: 'shutting down' });
    try {
      await ping(store);
      const applied = await appliedMigrationCount(store);
      if (applied < expectedMigrations)
        return sendJson(res, 503, {
          status: 'migrations pending',
          applied,
          expected: expectedMigrations,
        });
      return sendJson(res, 200, { status: 'ready', database: store.kind, migrations: applied });
    } catch (error) {
      log.warn('readiness check failed', { error });
      return sendJson(res, 503, { status: 'database unreachable' });
    }
  };

  /** Answers one request; returns the route's name for metrics. */
  const route = async (
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
  ): Promise<string> => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/healthz') {
      sendJson(res, 200, { status: 'ok' });
      return path;
    }
    if (path === '/readyz') {
      await ready(res);
      return path;
    }
    // A browser opening /graphql gets the explorer, before any key check: the page holds no data,
    // and a browser cannot send a key with a typed-in address anyway. GraphQL clients never ask
    // for HTML first, so GET stays GraphQL over HTTP for them.
    if (
      path === GRAPHQL_PATH &&
      req.method === 'GET' &&
      prefersHtml(req.headers.accept) &&
      serveStatic(EXPLORER_PATH, res, { vary: 'accept' })
    )
      return EXPLORER_PATH;
    if (path === GRAPHQL_PATH) {
      const principal = authenticate(req, res);
      if (principal)
        await handleGraphQL(apollo, req, res, async () => contextOf(principal, requestId));
      return path;
    }
    if (path === '/metrics') {
      if (authenticate(req, res)) {
        const text = await metrics.render();
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
        res.end(text);
      }
      return path;
    }
    const exported = req.method === 'GET' ? EXPORT_ROUTE.exec(path) : null;
    if (exported) {
      if (authenticate(req, res)) await serveExport(exported, services, res);
      return `/export/${exported[1]}/${exported[3]}`;
    }
    if ((req.method === 'GET' || req.method === 'HEAD') && serveStatic(path, res))
      return path === EXPLORER_PATH ? EXPLORER_PATH : '/dashboard';
    sendJson(res, 404, {
      errors: [{ message: `no route for ${path}`, extensions: { code: 'NOT_FOUND' } }],
      routes: ['/', EXPLORER_PATH, GRAPHQL_PATH, '/export/...', '/metrics', '/healthz', '/readyz'],
    });
    return 'unmatched';
  };

  http.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const started = process.hrtime.bigint();
    const given = req.headers['x-request-id'];
    const requestId =
      typeof given === 'string' && /^[\w.:-]{1,64}$/.test(given) ? given : randomUUID();
    res.setHeader('x-request-id', requestId);
    let name = 'unmatched';
    const work = route(req, res, requestId)
      .then((routeName) => {
        name = routeName;
      })
      .catch((error: unknown) => {
        log.error('request failed', { requestId, error, url: req.url });
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
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      void work.then(() => {
        metrics.request(name, req.method ?? 'GET', res.statusCode, seconds);
        log.debug('request', {
          requestId,
          method: req.method,
          url: req.url,
          status: res.statusCode,
          ms: Math.round(seconds * 1000),
        });
      });
    });
  });

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
        { host: config.host },
      );
  }

  let closed: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      closing = true;
      log.info('shutting down');
      // Runners first: a job in progress goes back to the queue, resumable from its checkpoint.
      await Promise.all(runners.map((r) => r.stop()));
      // Sockets close with 1001 before the bus ends their streams: a client must not mistake a
      // restart for the normal end of a subscription, which stopping the bus first would send.
      const httpClosed = new Promise<void>((resolve) => http.close(() => resolve()));
      await ws.close();
      await bus.stop();
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
