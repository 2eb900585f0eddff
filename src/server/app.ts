import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createContainer } from '../api/container.js';
import type { GraphQLContext } from '../api/context.js';
import { buildAppSchema } from '../api/schema.js';
import { createServices, type Services } from '../api/services.js';
import type { Config } from '../config.js';
import { EventBus } from '../events/bus.js';
import type { Runner } from '../jobs/runner.js';
import { startRunners } from '../jobs/start.js';
import type { Logger } from '../log.js';
import { openStore, pgliteDirOf, type Store } from '../store/db.js';
import { migrate } from '../store/migrate.js';
import { KeyRing, type Principal } from './access.js';
import { GRAPHQL_PATH, startApollo } from './apollo.js';
import { OperationGuard } from './guard.js';
import { HomeLock } from './home-lock.js';
import { sendJson } from './http.js';
import { Metrics } from './metrics.js';
import { createRoutes, type Route } from './routes.js';
import { attachWebSocket } from './ws.js';

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
  const apollo = await startApollo(schema, guard, metrics, log);
  let closing = false;
  const route = createRoutes({
    apollo,
    keys,
    metrics,
    services,
    store,
    contextOf,
    guard,
    maxUploadBytes: config.maxUploadBytes,
    closing: () => closing,
    log,
  });
  const inFlight = handleRequests(http, route, metrics, log);
  const url = await listen(http, config);
  const port = Number(new URL(url).port);
  const runners = startRunners(config, store, bus, log);
  log.info('filterscope is serving', {
    url,
    dashboard: url.replace(GRAPHQL_PATH, '/'),
    database: store.kind,
    location: store.location,
    runners: runners.length,
    apiKeys: config.apiKeys.length,
  });
  warnIfOpen(config, keys, log);

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

/**
 * Runs every request through `route` with a request id (a sane `x-request-id`, else a new one,
 * echoed back), a coded 500 for what escapes it, and its metrics. Returns the requests in
 * flight, which shutdown waits for.
 */
function handleRequests(
  http: Server,
  route: Route,
  metrics: Metrics,
  log: Logger,
): Set<Promise<void>> {
  const inFlight = new Set<Promise<void>>();
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
  return inFlight;
}

/** Listens on the configured host and port; resolves with the /graphql URL. */
async function listen(http: Server, config: Config): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.port, config.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return `http://${host}:${port}${GRAPHQL_PATH}`;
}

/** Says at start who can reach an open server (no API keys). */
function warnIfOpen(config: Config, keys: KeyRing, log: Logger): void {
  if (keys.enabled) return;
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
