/**
 * The contract's checks: small composable validators for plain JSON values. One rule per field
 * serves every boundary the value crosses (the API where it enters, the engine thread's
 * messages), so a range is written once. A failed check throws `ContractIssue` with the path of
 * the field, the value and why; each boundary turns it into its own error (a GraphQL
 * BAD_USER_INPUT naming `input.<path>`, a `ProtocolError` naming the message type).
 */

/** A value that breaks the contract: where (a dotted path), what it was, why it is wrong. */
export class ContractIssue extends Error {
  constructor(
    readonly path: string,
    readonly value: unknown,
    readonly why: string,
  ) {
    super(`${path}: ${why}, got ${show(value)}`);
    this.name = 'ContractIssue';
  }
}

/** Throws `ContractIssue` when `value` (at `path`) breaks the rule. */
export type Check = (value: unknown, path: string) => void;

/** `path.key`, or `key` at the root. */
export const join = (path: string, key: string): string => (path ? `${path}.${key}` : key);

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A short rendering of a value for messages (at most 80 characters). */
export function show(value: unknown): string {
  if (value instanceof Uint8Array) return `Uint8Array(${value.length})`;
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (typeof value === 'bigint') return `${value}n`;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = undefined;
  }
  if (text === undefined) return String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** An integer in [min, max]. */
export const integer =
  (min: number, max = Number.MAX_SAFE_INTEGER): Check =>
  (v, path) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw new ContractIssue(path, v, `must be an integer from ${min} to ${max}`);
    }
  };

/** A finite number in [min, max] (`(min, max]` when `above`, `[min, max)` when `below`). */
export const number =
  (min = -Infinity, max = Infinity, bounds: { above?: boolean; below?: boolean } = {}): Check =>
  (v, path) => {
    const ok =
      typeof v === 'number' &&
      Number.isFinite(v) &&
      (bounds.above ? v > min : v >= min) &&
      (bounds.below ? v < max : v <= max);
    if (!ok) {
      const lo = min === -Infinity ? '' : ` ${bounds.above ? '>' : '>='} ${min}`;
      const hi = max === Infinity ? '' : `${lo ? ' and' : ''} ${bounds.below ? '<' : '<='} ${max}`;
      throw new ContractIssue(path, v, `must be a finite number${lo}${hi}`);
    }
  };

export const string: Check = (v, path) => {
  if (typeof v !== 'string' || v.length === 0)
    throw new ContractIssue(path, v, 'must be a non-empty string');
};

export const anyString: Check = (v, path) => {
  if (typeof v !== 'string') throw new ContractIssue(path, v, 'must be a string');
};

export const boolean: Check = (v, path) => {
  if (typeof v !== 'boolean') throw new ContractIssue(path, v, 'must be a boolean');
};

export const bytes: Check = (v, path) => {
  if (!(v instanceof Uint8Array) || v.length === 0) {
    throw new ContractIssue(path, v, 'must be a non-empty Uint8Array');
  }
};

export const oneOf =
  (options: readonly string[]): Check =>
  (v, path) => {
    if (typeof v !== 'string' || !options.includes(v)) {
      throw new ContractIssue(path, v, `must be one of ${options.join(', ')}`);
    }
  };

export const nullable =
  (check: Check): Check =>
  (v, path) => {
    if (v !== null) check(v, path);
  };

/** Any plain object (its fields are someone else's to check). */
export const record: Check = (v, path) => {
  if (!isObject(v)) throw new ContractIssue(path, v, 'must be an object');
};

export const arrayOf =
  (check: Check, minLength = 0): Check =>
  (v, path) => {
    if (!Array.isArray(v) || v.length < minLength) {
      throw new ContractIssue(
        path,
        v,
        minLength ? `must be an array of at least ${minLength}` : 'must be an array',
      );
    }
    v.forEach((item, i) => check(item, `${path}[${i}]`));
  };

/** An object with exactly these fields (those in `optional` may be absent or undefined). */
export function object(fields: Record<string, Check>, optional: readonly string[] = []): Check {
  return (v, path) => {
    if (!isObject(v)) throw new ContractIssue(path || 'message', v, 'must be an object');
    for (const key of Object.keys(v)) {
      if (!(key in fields))
        throw new ContractIssue(join(path, key), v[key], 'is not a field of this message');
    }
    for (const [key, check] of Object.entries(fields)) {
      const fieldValue = v[key];
      if (fieldValue === undefined) {
        if (optional.includes(key)) continue;
        throw new ContractIssue(join(path, key), fieldValue, 'is required');
      }
      check(fieldValue, join(path, key));
    }
  };
}

/** `object` with every field optional. */
export const partial = (fields: Record<string, Check>): Check =>
  object(fields, Object.keys(fields));
