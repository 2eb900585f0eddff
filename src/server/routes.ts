import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApolloServer } from '@apollo/server';
import type { GraphQLContext, Services } from '../api/context.js';
import type { Logger } from '../log.js';
import { ping, type Store } from '../store/db.js';
import { appliedMigrationCount, expectedMigrationCount } from '../store/migrate.js';
import { AccessError, type KeyRing, type Principal } from './access.js';
import { GRAPHQL_PATH } from './apollo.js';
import { EXPORT_ROUTE, serveExport } from './export.js';
import type { OperationGuard } from './guard.js';
import { IMPORT_PATH, serveImport } from './import.js';
import { handleGraphQL, sendJson } from './http.js';
import { prefersHtml } from './media.js';
import type { Metrics } from './metrics.js';
import { EXPLORER_PATH, serveStatic } from './static.js';

/** What the routes need of the running server. */
export interface RouteDeps {
  readonly apollo: ApolloServer<GraphQLContext>;
  readonly keys: KeyRing;
  readonly metrics: Metrics;
  readonly services: Services;
  readonly store: Store;
  readonly contextOf: (principal: Principal, requestId: string) => GraphQLContext;
  readonly guard: OperationGuard;
  /** Largest network upload (FILTERSCOPE_MAX_UPLOAD_BYTES). */
  readonly maxUploadBytes: number;
  /** True once shutdown began: /readyz answers 503. */
  readonly closing: () => boolean;
  readonly log: Logger;
}

/** Answers one request and returns the route's name (for metrics). */
export type Route = (
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
) => Promise<string>;

/**
 * Every HTTP route: /healthz, /readyz, /graphql (the explorer for browsers), /metrics,
 * /export/..., the dashboard's static files, and a coded 404 listing the routes.
 */
export function createRoutes(deps: RouteDeps): Route {
  const { keys, metrics } = deps;
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
  const ready = readiness(deps);

  return async (req, res, requestId) => {
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
        await handleGraphQL(deps.apollo, req, res, async () =>
          deps.contextOf(principal, requestId),
        );
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
    if (path === IMPORT_PATH) {
      const principal = authenticate(req, res);
      if (principal) await serveImport(req, res, principal, deps);
      return path;
    }
    const exported = req.method === 'GET' ? EXPORT_ROUTE.exec(path) : null;
    if (exported) {
      if (authenticate(req, res)) await serveExport(exported, deps.services, res);
      return `/export/${exported[1]}/${exported[3]}`;
    }
    if ((req.method === 'GET' || req.method === 'HEAD') && serveStatic(path, res))
      return path === EXPLORER_PATH ? EXPLORER_PATH : '/dashboard';
    sendJson(res, 404, {
      errors: [{ message: `no route for ${path}`, extensions: { code: 'NOT_FOUND' } }],
      routes: [
        '/',
        EXPLORER_PATH,
        GRAPHQL_PATH,
        IMPORT_PATH,
        '/export/...',
        '/metrics',
        '/healthz',
        '/readyz',
      ],
    });
    return 'unmatched';
  };
}

/** /readyz: 200 when the database answers and every migration is applied, else 503 saying why. */
function readiness(deps: RouteDeps): (res: ServerResponse) => Promise<void> {
  const expected = expectedMigrationCount();
  return async (res) => {
    if (deps.closing()) return sendJson(res, 503, { status: 'shutting down' });
    try {
      await ping(deps.store);
      const applied = await appliedMigrationCount(deps.store);
      if (applied < expected)
        return sendJson(res, 503, { status: 'migrations pending', applied, expected });
      return sendJson(res, 200, {
        status: 'ready',
        database: deps.store.kind,
        migrations: applied,
      });
    } catch (error) {
      deps.log.warn('readiness check failed', { error });
      return sendJson(res, 503, { status: 'database unreachable' });
    }
  };
}
