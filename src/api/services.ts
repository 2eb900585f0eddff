import type { ContainerType } from 'type-graphql';
import type { Config } from '../config.js';
import type { Store } from '../store/db.js';
import { ArchitectureResolver, LayerResolver } from './architecture/architecture.resolver.js';
import { ArchitectureService } from './architecture/architecture.service.js';
import { DatasetResolver } from './dataset/dataset.resolver.js';
import { DatasetService } from './dataset/dataset.service.js';
import { NodeResolver } from './node/node.resolver.js';
import { NodeService } from './node/node.service.js';
import {
  FilterResultResolver,
  LayerProbeResolver,
  ProbeLayerResolver,
  ProbeResolver,
  ProbeRunResolver,
} from './probe/probe.resolver.js';
import { ProbeService } from './probe/probe.service.js';
import { TrainingRunResolver } from './run/training-run.resolver.js';
import { TrainingRunService } from './run/training-run.service.js';
import type { EventBus } from '../events/bus.js';

/** Every service of one server, wired once at start. */
export interface Services {
  readonly architectures: ArchitectureService;
  readonly runs: TrainingRunService;
  readonly datasets: DatasetService;
  readonly probes: ProbeService;
  readonly nodes: NodeService;
}

export function createServices(
  store: Store,
  bus: EventBus,
  config: Pick<Config, 'maxParameters' | 'dataPath' | 'maxQueuedJobs'>,
): Services {
  const architectures = new ArchitectureService(store, { maxParameters: config.maxParameters });
  const datasets = new DatasetService(config.dataPath);
  const limits = { maxQueuedJobs: config.maxQueuedJobs };
  const runs = new TrainingRunService(store, datasets, bus, limits);
  const probes = new ProbeService(store, datasets, bus, limits);
  return {
    architectures,
    datasets,
    runs,
    probes,
    nodes: new NodeService(architectures, datasets, runs, probes),
  };
}

/** type-graphql's container: one resolver instance per class, built with its services. */
export function createContainer(services: Services): ContainerType {
  const instances = new Map<unknown, unknown>([
    [NodeResolver, new NodeResolver(services.nodes)],
    [ArchitectureResolver, new ArchitectureResolver(services.architectures)],
    [LayerResolver, new LayerResolver(services.architectures)],
    [DatasetResolver, new DatasetResolver(services.datasets)],
    [TrainingRunResolver, new TrainingRunResolver(services.runs, services.architectures)],
    [ProbeResolver, new ProbeResolver(services.probes)],
    [LayerProbeResolver, new LayerProbeResolver(services.probes)],
    [FilterResultResolver, new FilterResultResolver(services.probes)],
    [ProbeRunResolver, new ProbeRunResolver(services.probes)],
    [ProbeLayerResolver, new ProbeLayerResolver(services.probes)],
  ]);
  return {
    get(someClass: unknown) {
      const instance = instances.get(someClass);
      if (!instance) throw new Error(`no resolver instance registered for ${String(someClass)}`);
      return instance;
    },
  };
}
