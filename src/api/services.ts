import type { Config } from '../config.js';
import type { EventBus } from '../events/bus.js';
import type { Store } from '../store/db.js';
import { ArchitectureService } from './architecture/architecture.service.js';
import type { Services } from './context.js';
import { DatasetService } from './dataset/dataset.service.js';
import { ImportService } from './import/import.service.js';
import { NodeService } from './node/node.service.js';
import { FilterService } from './probe/filter.service.js';
import { ProbeService } from './probe/probe.service.js';
import { TrainingRunService } from './run/training-run.service.js';

export type { Services } from './context.js';

/** Every service of one server, wired once at start. */
export function createServices(
  store: Store,
  bus: EventBus,
  config: Pick<Config, 'maxParameters' | 'dataPath' | 'maxQueuedJobs'>,
): Services {
  const architectures = new ArchitectureService(store, { maxParameters: config.maxParameters });
  const datasets = new DatasetService(config.dataPath);
  const limits = { maxQueuedJobs: config.maxQueuedJobs };
  const runs = new TrainingRunService(store, datasets, bus, limits);
  const probes = new ProbeService(store, bus, limits);
  const filters = new FilterService(store, datasets, bus);
  return {
    architectures,
    datasets,
    runs,
    probes,
    filters,
    imports: new ImportService(store, datasets, architectures, limits),
    nodes: new NodeService(architectures, datasets, runs, probes, filters),
  };
}
