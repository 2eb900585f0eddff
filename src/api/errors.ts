import { GraphQLError } from 'graphql';

/** Error codes a client can act on (extensions.code). */
export type ErrorCode =
  'BAD_USER_INPUT' | 'NOT_FOUND' | 'CONFLICT' | 'FORBIDDEN' | 'UNAUTHENTICATED' | 'RATE_LIMITED';

const coded = (
  code: ErrorCode,
  message: string,
  extra: Record<string, unknown> = {},
): GraphQLError => new GraphQLError(message, { extensions: { code, ...extra } });

/**
 * A value as JSON can carry it: JSON has no NaN or Infinity (a literal `1e999` parses to
 * Infinity), so those are sent as the strings `"NaN"`, `"Infinity"`, `"-Infinity"`, not as null.
 */
const carried = (value: unknown): unknown =>
  typeof value === 'number' && !Number.isFinite(value) ? String(value) : value;

/** Longest value quoted in a message; `extensions.value` always carries it whole. */
export const MAX_SHOWN = 120;

/** `text` cut to MAX_SHOWN characters, saying how long it was. */
export const shorten = (text: string): string =>
  text.length <= MAX_SHOWN ? text : `${text.slice(0, MAX_SHOWN)}… (${text.length} characters)`;

/** A client mistake: `field` is the input path (e.g. `input.blocks[2].filters`). */
export const badInput = (
  field: string,
  value: unknown,
  why: string,
  extra: Record<string, unknown> = {},
): GraphQLError => {
  const shown =
    typeof value === 'number' && !Number.isFinite(value)
      ? String(value)
      : (JSON.stringify(value) ?? String(value));
  return coded('BAD_USER_INPUT', `${field}: ${why}, got ${shorten(shown)}`, {
    field,
    value: carried(value),
    ...extra,
  });
};

export const notFound = (what: string, id: string): GraphQLError =>
  coded('NOT_FOUND', `${what} ${JSON.stringify(id)} does not exist`, { id });

export const conflict = (message: string, extra: Record<string, unknown> = {}): GraphQLError =>
  coded('CONFLICT', message, extra);

/** Too much at once: `extra` says which limit (and, where it helps, when to retry). */
export const rateLimited = (message: string, extra: Record<string, unknown> = {}): GraphQLError =>
  new GraphQLError(message, {
    extensions: { code: 'RATE_LIMITED', http: { status: 429 }, ...extra },
  });

/**
 * Throws BAD_USER_INPUT naming `field` unless `value` is absent or a finite number (an integer if
 * `integer`) in [min, max] (`openMin`: (min, max]).
 */
export function checkNumber(
  field: string,
  value: number | undefined | null,
  min: number,
  max: number,
  integer: boolean,
  openMin = false,
): void {
  if (value === undefined || value === null) return;
  const ok =
    Number.isFinite(value) &&
    (integer ? Number.isInteger(value) : true) &&
    (openMin ? value > min : value >= min) &&
    value <= max;
  if (!ok)
    throw badInput(
      field,
      value,
      `must be ${integer ? 'an integer' : 'a number'} in ${openMin ? '(' : '['}${min}, ${max}]`,
    );
}
