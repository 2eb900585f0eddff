import { eq, ilike, inArray, or, sql, type SQL } from 'drizzle-orm';
import type { RunStatus } from '../../contract/status.js';
import type { Store } from '../../store/db.js';
import { architectures, trainingRuns, type RunOrigin } from '../../store/schema/index.js';
import { badInput } from '../errors.js';
import { isKey, parseGlobalId, parseKey } from '../relay/global-id.js';

/** What `runs(filter:)` narrows by, the architecture's id decoded. */
export interface RunQuery {
  readonly status?: RunStatus;
  readonly architectureKey?: number;
  readonly architecture?: string;
  readonly dataset?: string;
  readonly origin?: RunOrigin;
  readonly tag?: string;
  readonly name?: string;
  readonly search?: string;
}

/** Longest `name` or `search` text, in characters. */
const MAX_TEXT = 200;

/** `text` as a LIKE pattern matching it anywhere, its own % and _ taken literally. */
const containing = (text: string): string => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** The key a search text names: a run's number (`17`) or its global id; null otherwise. */
function searchedKey(text: string): number | null {
  const decoded = parseGlobalId(text);
  const key = decoded?.type === 'TrainingRun' ? parseKey(decoded.key) : parseKey(text);
  return isKey(key) ? key : null;
}

/**
 * The SQL conditions of `query` over `training_runs` (all must hold). Throws BAD_USER_INPUT
 * naming `filter.name` or `filter.search` for a text over 200 characters.
 */
export function runConditions(store: Store, query: RunQuery): SQL[] {
  const t = trainingRuns;
  const conditions: SQL[] = [];
  for (const field of ['name', 'search'] as const) {
    const value = query[field];
    if (value !== undefined && value.length > MAX_TEXT)
      throw badInput(`filter.${field}`, value, `must be at most ${MAX_TEXT} characters`);
  }
  const archNamed = (condition: SQL) =>
    inArray(
      t.architectureId,
      store.db.select({ id: architectures.id }).from(architectures).where(condition),
    );
  if (query.status) conditions.push(eq(t.status, query.status));
  if (query.architectureKey) conditions.push(eq(t.architectureId, query.architectureKey));
  if (query.architecture !== undefined)
    conditions.push(archNamed(eq(architectures.name, query.architecture)));
  if (query.dataset !== undefined) conditions.push(eq(t.dataset, query.dataset));
  if (query.origin) conditions.push(eq(t.origin, query.origin));
  if (query.tag !== undefined)
    conditions.push(sql`${t.tags} @> ${JSON.stringify([query.tag])}::jsonb`);
  if (query.name) conditions.push(ilike(t.name, containing(query.name)));
  const search = query.search?.trim();
  if (search) {
    const pattern = containing(search);
    const key = searchedKey(search);
    conditions.push(
      or(
        ilike(t.name, pattern),
        ilike(t.dataset, pattern),
        sql`exists (select 1 from jsonb_array_elements_text(${t.tags}) as tag where tag ilike ${pattern})`,
        archNamed(ilike(architectures.name, pattern)),
        ...(key === null ? [] : [eq(t.id, key)]),
      )!,
    );
  }
  return conditions;
}
