import type { ContainerType } from 'type-graphql';
import type { Config } from '../config.js';
import type { Store } from '../store/db.js';
import { ArchitectureResolver, LayerResolver } from './architecture/architecture.resolver.js';
import { ArchitectureService } from './architecture/architecture.service.js';
import { DatasetResolver } from './dataset/dataset.resolver.js';
import { DatasetService } from './dataset/dataset.service.js';
import { NodeResolver } from './node/node.resolver.js';
import { NodeService } from './node/node.service.js';

/** Every service of one server, wired once at start. */
export interface Services {
  readonly architectures: ArchitectureService;
  readonly datasets: DatasetService;
  readonly nodes: NodeService;
}

export function createServices(
  store: Store,
  config: Pick<Config, 'maxParameters' | 'dataPath'>,
): Services {
  const architectures = new ArchitectureService(store, { maxParameters: config.maxParameters });
  const datasets = new DatasetService(config.dataPath);
  return { architectures, datasets, nodes: new NodeService(architectures, datasets) };
}

/** type-graphql's container: one resolver instance per class, built with its services. */
export function createContainer(services: Services): ContainerType {
  const instances = new Map<unknown, unknown>([
    [NodeResolver, new NodeResolver(services.nodes)],
    [ArchitectureResolver, new ArchitectureResolver(services.architectures)],
    [LayerResolver, new LayerResolver(services.architectures)],
    [DatasetResolver, new DatasetResolver(services.datasets)],
  ]);
  return {
    get(someClass: unknown) {
      const instance = instances.get(someClass);
      if (!instance) throw new Error(`no resolver instance registered for ${String(someClass)}`);
      return instance;
    },
  };
}
