import { badInput, shorten } from '../errors.js';

/**
 * The index of a label named `text` (its name in any case, or its index); BAD_USER_INPUT naming
 * `clusterLabel` and listing the names otherwise.
 */
export function labelIndex(text: string, names: readonly string[]): number {
  const wanted = text.trim().toLowerCase();
  const byName = names.findIndex((name) => name.toLowerCase() === wanted);
  if (byName >= 0) return byName;
  const index = /^[0-9]{1,5}$/.test(wanted) ? Number(wanted) : NaN;
  if (index < names.length) return index;
  throw badInput(
    'clusterLabel',
    text,
    `is neither a label name nor an index of this dataset (0-${names.length - 1}: ${shorten(names.join(', '))})`,
  );
}
