import { GraphQLError } from 'graphql';

/** Error codes a client can act on (extensions.code). */
export type ErrorCode =
  'BAD_USER_INPUT' | 'NOT_FOUND' | 'CONFLICT' | 'FORBIDDEN' | 'UNAUTHENTICATED' | 'RATE_LIMITED';

const coded = (
  code: ErrorCode,
  message: string,
  extra: Record<string, unknown> = {},
): GraphQLError => new GraphQLError(message, { extensions: { code, ...extra } });

/** A client mistake: `field` is the input path (e.g. `input.blocks[2].filters`). */
export const badInput = (
  field: string,
  value: unknown,
  why: string,
  extra: Record<string, unknown> = {},
): GraphQLError =>
  coded('BAD_USER_INPUT', `${field}: ${why}, got ${JSON.stringify(value) ?? String(value)}`, {
    field,
    value,
    ...extra,
  });

export const notFound = (what: string, id: string): GraphQLError =>
  coded('NOT_FOUND', `${what} ${JSON.stringify(id)} does not exist`, { id });

export const conflict = (message: string, extra: Record<string, unknown> = {}): GraphQLError =>
  coded('CONFLICT', message, extra);

/** Too much at once: `extra` says which limit (and, where it helps, when to retry). */
export const rateLimited = (message: string, extra: Record<string, unknown> = {}): GraphQLError =>
  new GraphQLError(message, {
    extensions: { code: 'RATE_LIMITED', http: { status: 429 }, ...extra },
  });
