import type { Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import {
  getVariableValues,
  GraphQLError,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import type { Context } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { rateLimited } from '../api/errors.js';
import type { GraphQLContext } from '../api/context.js';
import type { Logger } from '../log.js';
import { AccessError, selectedOperation, type KeyRing, type Principal } from './access.js';
import { maskError } from './errors.js';
import type { OperationGuard } from './guard.js';
import { depthLimit } from './limits.js';
import type { Metrics } from './metrics.js';

/** `error` with `extensions.code` set (graphql-js leaves parse and validation errors uncoded). */
function withCode(error: GraphQLError, code: string): GraphQLError {
  if (error.extensions.code !== undefined) return error;
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: { ...error.extensions, code },
  });
}

/** Largest WebSocket message accepted, bytes (the HTTP body limit). */
const MAX_MESSAGE_BYTES = 1_000_000;

export interface WebSocketOptions {
  readonly http: Server;
  readonly path: string;
  readonly schema: GraphQLSchema;
  readonly keys: KeyRing;
  readonly guard: OperationGuard;
  readonly maxSubscriptions: number;
  readonly contextOf: (principal: Principal, requestId: string) => GraphQLContext;
  readonly metrics: Metrics;
  readonly log: Logger;
}

interface Connection {
  readonly principal: Principal;
  readonly id: string;
  readonly log: Logger;
}

export interface WebSocketEndpoint {
  /** Open connections and the operations running on them, for /metrics. */
  stats(): { connections: number; operations: number };
  /** Closes every socket with 1001 and stops accepting. */
  close(): Promise<void>;
}

/**
 * graphql-ws on the HTTP server's path: the key is checked once at connection_init (a bad one
 * closes the socket with 4403), then each operation goes through the same validation, depth
 * limit and guard as HTTP, plus a cap on concurrent operations per connection.
 */
export function attachWebSocket(options: WebSocketOptions): WebSocketEndpoint {
  const { schema, keys, guard, metrics, log } = options;
  const wss = new WebSocketServer({
    server: options.http,
    path: options.path,
    maxPayload: MAX_MESSAGE_BYTES,
  });
  const connections = new Map<Context, Connection>();
  const format = (ctx: Context, error: GraphQLError): GraphQLFormattedError => {
    const formatted = maskError(error.toJSON(), error, connections.get(ctx)?.log ?? log);
    metrics.error(String(formatted.extensions?.code ?? 'INTERNAL_SERVER_ERROR'), 'ws');
    return formatted;
  };

  const server = useServer<Record<string, unknown>>(
    {
      schema,
      onConnect: (ctx) => {
        try {
          const principal = keys.authenticate(ctx.connectionParams?.authorization);
          const id = randomUUID();
          connections.set(ctx, { principal, id, log: log.child({ connectionId: id }) });
          return true;
        } catch (error) {
          if (!(error instanceof AccessError)) throw error;
          log.info('WebSocket refused', { reason: error.message });
          return false;
        }
      },
      onDisconnect: (ctx) => {
        connections.delete(ctx);
      },
      onClose: (ctx) => {
        connections.delete(ctx);
      },
      onSubscribe: (ctx, _id, payload) => {
        const connection = connections.get(ctx);
        if (!connection) return [new GraphQLError('connection not acknowledged')];
        // The same codes as Apollo gives these over HTTP.
        let document: DocumentNode;
        try {
          document = parse(payload.query);
        } catch (error) {
          return [withCode(error as GraphQLError, 'GRAPHQL_PARSE_FAILED')];
        }
        const invalid = validate(schema, document, [...specifiedRules, depthLimit()]);
        if (invalid.length > 0) return invalid.map((e) => withCode(e, 'GRAPHQL_VALIDATION_FAILED'));
        const operation = selectedOperation(document, payload.operationName);
        if (operation) {
          const coerced = getVariableValues(
            schema,
            operation.variableDefinitions ?? [],
            payload.variables ?? {},
            { maxErrors: 10 },
          );
          if (coerced.errors) return coerced.errors.map((e) => withCode(e, 'BAD_USER_INPUT'));
        }
        const active = Object.keys(ctx.subscriptions).length;
        if (active >= options.maxSubscriptions)
          return [
            rateLimited(
              `this connection already has ${active} operations running (the limit is ${options.maxSubscriptions}): open another connection or complete some`,
              { limit: options.maxSubscriptions },
            ),
          ];
        try {
          guard.check(connection.principal, document, operation, payload.variables ?? {});
        } catch (error) {
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
        metrics.subscriptionsStarted.inc();
        return {
          schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: options.contextOf(connection.principal, connection.id),
        };
      },
      onError: (ctx, _id, _payload, errors) => errors.map((e) => format(ctx, e)),
      onNext: (ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: result.errors.map((e) => format(ctx, e)) } : undefined,
    },
    wss,
  );

  return {
    stats: () => ({
      connections: connections.size,
      operations: [...connections.keys()].reduce(
        (n, ctx) => n + Object.keys(ctx.subscriptions).length,
        0,
      ),
    }),
    async close() {
      for (const client of wss.clients) client.close(1001, 'server shutting down');
      await server.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
