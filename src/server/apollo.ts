import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { GraphQLError, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import type { GraphQLContext } from '../api/context.js';
import type { Logger } from '../log.js';
import { isClientError, isDatabaseUnavailable, maskError } from './errors.js';
import type { OperationGuard } from './guard.js';
import { depthLimit } from './limits.js';
import type { Metrics } from './metrics.js';

/** The one path of GraphQL, over HTTP and WebSocket. */
export const GRAPHQL_PATH = '/graphql';

/**
 * Apollo Server for /graphql over HTTP: the guard (keys' roles, cost, launch rate) once an
 * operation is chosen, coded and masked errors, a database outage answered 503 with
 * Retry-After, and no landing page (a browser gets the offline explorer instead; routes.ts).
 */
export async function startApollo(
  schema: GraphQLSchema,
  guard: OperationGuard,
  metrics: Metrics,
  log: Logger,
): Promise<ApolloServer<GraphQLContext>> {
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
    // Apollo's default landing page loads its Sandbox from the internet.
    plugins: [observe(guard, metrics, log), ApolloServerPluginLandingPageDisabled()],
  });
  await apollo.start();
  return apollo;
}

function observe(
  guard: OperationGuard,
  metrics: Metrics,
  log: Logger,
): ApolloServerPlugin<GraphQLContext> {
  const unavailable = new WeakSet<object>();
  return {
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
          if (code === 'SERVICE_UNAVAILABLE') {
            unavailable.add(request);
            log.warn('the database is unavailable', { requestId: contextValue.requestId, error });
          } else if (!isClientError(code))
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
}
