import { decodeIntId } from '../relay/global-id.js';
import type { RunQuery } from './run-filter.js';
import type { RunFilter } from './training-run.input.js';

/** `runs(filter:)` as the service takes it: the architecture id decoded, nulls left out. */
export function runQuery(filter: RunFilter | undefined | null): RunQuery {
  const f = filter ?? {};
  const id = f.architectureId ?? undefined;
  return {
    status: f.status ?? undefined,
    architectureKey: id ? decodeIntId(id, 'Architecture', 'filter.architectureId') : undefined,
    architecture: f.architecture ?? undefined,
    dataset: f.dataset ?? undefined,
    origin: f.origin ?? undefined,
    tag: f.tag ?? undefined,
    name: f.name ?? undefined,
    search: f.search ?? undefined,
  };
}
