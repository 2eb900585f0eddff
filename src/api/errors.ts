import { GraphQLError } from 'graphql';
import { ContractIssue } from '../contract/checks.js';

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

/** An inclusive range, `min` exclusive with `above`; `integer` for whole numbers only. */
export interface Range {
  readonly min: number;
  readonly max: number;
  readonly integer?: boolean;
  readonly above?: boolean;
}

/**
 * Throws BAD_USER_INPUT naming `field` unless `value` is absent or a finite number in `range`.
 */
export function checkRange(field: string, value: number | undefined | null, range: Range): void {
  if (value === undefined || value === null) return;
  const ok =
    Number.isFinite(value) &&
    (!range.integer || Number.isInteger(value)) &&
    (range.above ? value > range.min : value >= range.min) &&
    value <= range.max;
  if (!ok)
    throw badInput(
      field,
      value,
      `must be ${range.integer ? 'an integer' : 'a number'} in ${range.above ? '(' : '['}${range.min}, ${range.max}]`,
    );
}

/**
 * A value that broke the contract where it entered the API, as BAD_USER_INPUT naming the input
 * field: `prefix` is where the contract's value sits in the input (e.g. `input.hyperparameters`).
 */
export function fromContract(issue: ContractIssue, prefix: string): GraphQLError {
  const field = issue.path ? (prefix ? `${prefix}.${issue.path}` : issue.path) : prefix;
  return badInput(field, issue.value, issue.why);
}

/** Runs `fn`, turning a ContractIssue it throws into BAD_USER_INPUT under `prefix`. */
export function enteringContract<T>(prefix: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof ContractIssue) throw fromContract(error, prefix);
    throw error;
  }
}
