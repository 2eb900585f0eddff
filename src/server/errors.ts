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
  'SERVICE_UNAVAILABLE',
]);

/** postgres.js and Node codes of a database that is down or dropped the connection. */
const UNAVAILABLE_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  '57P01', // admin_shutdown (pg_terminate_backend)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
]);

/**
 * True when `error` (or any error it wraps) says the database is unreachable: the client should
 * retry shortly rather than report a bug.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const seen = new Set<unknown>();
  for (let e = error; e && typeof e === 'object' && !seen.has(e);) {
    seen.add(e);
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
    if (typeof message === 'string' && /is not currently accepting connections/.test(message))
      return true;
    const next = e as { originalError?: unknown; cause?: unknown };
    e = next.originalError ?? next.cause;
  }
  return false;
}

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
  if (isDatabaseUnavailable(original)) {
    log?.warn('the database is unavailable', { error: original, path: formatted.path });
    return {
      message: 'the database is unavailable: retry in a few seconds',
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions: { code: 'SERVICE_UNAVAILABLE' },
    };
  }
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
