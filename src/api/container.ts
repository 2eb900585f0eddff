import 'reflect-metadata';
import type { ContainerType } from 'type-graphql';
import { ArchitectureResolver, LayerResolver } from './architecture/architecture.resolver.js';
import type { Services } from './context.js';
import { DefaultsResolver } from './defaults/defaults.resolver.js';
import { DatasetResolver } from './dataset/dataset.resolver.js';
import { NodeResolver } from './node/node.resolver.js';
import {
  FilterResultResolver,
  LayerProbeResolver,
  ProbeLayerResolver,
  ProbeResolver,
  ProbeRunResolver,
} from './probe/probe.resolver.js';
import { TrainingRunResolver } from './run/training-run.resolver.js';

/** Every resolver class, in the order the schema lists them. */
export const RESOLVERS = [
  NodeResolver,
  DefaultsResolver,
  ArchitectureResolver,
  LayerResolver,
  DatasetResolver,
  TrainingRunResolver,
  ProbeResolver,
  LayerProbeResolver,
  FilterResultResolver,
  ProbeRunResolver,
  ProbeLayerResolver,
] as const;

/** type-graphql's container: one resolver instance per class, built with its services. */
export function createContainer(services: Services): ContainerType {
  const instances = new Map<unknown, unknown>([
    [NodeResolver, new NodeResolver(services.nodes)],
    [DefaultsResolver, new DefaultsResolver()],
    [ArchitectureResolver, new ArchitectureResolver(services.architectures)],
    [LayerResolver, new LayerResolver(services.architectures)],
    [DatasetResolver, new DatasetResolver(services.datasets)],
    [TrainingRunResolver, new TrainingRunResolver(services.runs, services.architectures)],
    [ProbeResolver, new ProbeResolver(services.probes, services.runs)],
    [
      LayerProbeResolver,
      new LayerProbeResolver(services.probes, services.filters, services.architectures),
    ],
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
