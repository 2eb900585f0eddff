import { notFound } from './errors.js';
import { toGlobalId, type NodeTypeName } from './relay/global-id.js';

/**
 * The object a stored reference points at, or NOT_FOUND naming it by its global id (its row went
 * away between two reads): for field resolvers that follow a reference.
 */
export async function mustExist<T>(
  found: Promise<T | null>,
  type: NodeTypeName,
  key: number,
): Promise<T> {
  const value = await found;
  if (value === null) throw notFound(type, toGlobalId(type, key));
  return value;
}
