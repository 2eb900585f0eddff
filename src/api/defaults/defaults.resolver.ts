import { Query, Resolver } from 'type-graphql';
import { FINAL_STATUSES } from '../../contract/status.js';
import { DEFAULT_FILTER_PARAMS } from '../probe/filter.service.js';
import type { NormalizationKind } from '../probe/probe.type.js';
import type { RunStatus } from '../run/training-run.type.js';
import { Defaults } from './defaults.type.js';

/** The server's defaults, so that clients (the dashboard first) read them instead of copying. */
@Resolver(() => Defaults)
export class DefaultsResolver {
  @Query(() => Defaults)
  defaults(): Defaults {
    return Object.assign(new Defaults(), {
      ...DEFAULT_FILTER_PARAMS,
      normalization: DEFAULT_FILTER_PARAMS.normalization as NormalizationKind,
      finalStatuses: [...FINAL_STATUSES] as RunStatus[],
    });
  }
}
