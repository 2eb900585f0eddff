import type { GraphQLFormattedError } from 'graphql';
import type { Logger } from '../log.js';

/** Codes a client can act on; anything else is an internal failure and is masked. */
const CLIENT_CODES = new Set([
  'BAD_USER_INPUT',
  'NOT_FOUND',
  'CONFLICT',
  'FORBIDDEN',
  'UNAUTHENTICATED',
  'RATE_LIMITED',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);

/** True for the codes a client can act on (anything else is masked as internal). */
export const isClientError = (code: unknown): boolean =>
  typeof code === 'string' && CLIENT_CODES.has(code);

/**
 * Keeps client errors as they are; logs anything else with its context and answers
 * `INTERNAL_SERVER_ERROR` without internals. Used by HTTP and WebSocket alike.
 */
export function maskError(
  formatted: GraphQLFormattedError,
  original: unknown,
  /** Where unexpected errors are logged; null when the caller logs them itself. */
  log: Logger | null,
): GraphQLFormattedError {
  const code = formatted.extensions?.code;
  if (typeof code === 'string' && CLIENT_CODES.has(code)) {
    // `http` is Apollo's status hint: used for the HTTP answer, not for clients to read.
    const { stacktrace: _drop, http: _http, ...extensions } = formatted.extensions ?? {};
    return { ...formatted, extensions };
  }
  log?.error('unexpected error in a GraphQL operation', { error: original, path: formatted.path });
  return {
    message: 'Internal server error',
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  };
}
