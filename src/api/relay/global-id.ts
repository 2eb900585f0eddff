import { badInput } from '../errors.js';

/** Node types that have global ids. */
export type NodeTypeName =
  'Architecture' | 'Layer' | 'Dataset' | 'TrainingRun' | 'Probe' | 'LayerProbe' | 'FilterResult';
const NODE_TYPES: readonly NodeTypeName[] = [
  'Architecture',
  'Layer',
  'Dataset',
  'TrainingRun',
  'Probe',
  'LayerProbe',
  'FilterResult',
];

/** Opaque, stable global id: base64url of `Type:key`. */
export function toGlobalId(type: NodeTypeName, key: string | number): string {
  return Buffer.from(`${type}:${key}`, 'utf8').toString('base64url');
}

export interface DecodedId {
  readonly type: NodeTypeName;
  readonly key: string;
}

/** Decodes a global id, or null when it is not one of ours. */
export function parseGlobalId(id: string): DecodedId | null {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(id)) return null;
  const text = Buffer.from(id, 'base64url').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return null;
  const type = text.slice(0, colon) as NodeTypeName;
  const key = text.slice(colon + 1);
  if (!NODE_TYPES.includes(type) || key.length === 0) return null;
  return { type, key };
}

/** Largest key a row can have: the tables' ids are PostgreSQL `integer`s. */
export const MAX_KEY = 2 ** 31 - 1;

/**
 * True for a key a row can have. A larger one can name nothing, and must not reach SQL, where
 * comparing it with an `integer` column is an out-of-range error rather than no match.
 */
export const isKey = (key: number): boolean => Number.isInteger(key) && key >= 1 && key <= MAX_KEY;

/** An integer key as ids write it (`17`, never `1.7e1`, ` 17` or `017`), or NaN. */
export const parseKey = (text: string): number =>
  /^[1-9][0-9]{0,9}$/.test(text) ? Number(text) : NaN;

/**
 * Decodes a global id that must name a `type` with an integer key; throws BAD_USER_INPUT naming
 * `field` otherwise.
 */
export function decodeIntId(id: string, type: NodeTypeName, field: string): number {
  const decoded = parseGlobalId(id);
  const key = decoded?.type === type ? parseKey(decoded.key) : NaN;
  if (!isKey(key)) {
    throw badInput(field, id, `is not the id of a ${type}`);
  }
  return key;
}
