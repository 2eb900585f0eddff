import type { ContainerType } from 'type-graphql';
import type { ArchitectureService } from './architecture/architecture.service.js';
import type { DatasetService } from './dataset/dataset.service.js';
import type { ImportService } from './import/import.service.js';
import type { NodeService } from './node/node.service.js';
import type { FilterService } from './probe/filter.service.js';
import type { ProbeService } from './probe/probe.service.js';
import type { TrainingRunService } from './run/training-run.service.js';

/** Every service of one server, wired once at start (services.ts). */
export interface Services {
  readonly architectures: ArchitectureService;
  readonly runs: TrainingRunService;
  readonly datasets: DatasetService;
  readonly probes: ProbeService;
  readonly filters: FilterService;
  readonly imports: ImportService;
  readonly nodes: NodeService;
}

/** Per-request context: the container that holds this server's resolvers, and its services. */
export interface GraphQLContext {
  readonly container: ContainerType;
  readonly services: Services;
  /** Who asks: the API key's name and role (`anonymous`/write when no keys are configured). */
  readonly principal: { readonly name: string; readonly role: 'read' | 'write' };
  /** The HTTP request's id (x-request-id), or the WebSocket connection's id: for logs. */
  readonly requestId: string;
}
