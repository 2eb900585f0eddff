import type { ArchitectureService } from '../architecture/architecture.service.js';
import type { DatasetService } from '../dataset/dataset.service.js';
import type { FilterService } from '../probe/filter.service.js';
import type { ProbeService } from '../probe/probe.service.js';
import type { TrainingRunService } from '../run/training-run.service.js';
import { isKey, parseGlobalId, parseKey } from '../relay/global-id.js';
import type { Node } from '../relay/node.type.js';

/** Resolves any global id to its object, or null when it names nothing. */
export class NodeService {
  constructor(
    private readonly architectures: ArchitectureService,
    private readonly datasets: DatasetService,
    private readonly runs: TrainingRunService,
    private readonly probes: ProbeService,
    private readonly filters: FilterService,
  ) {}

  async findOne(id: string): Promise<Node | null> {
    const decoded = parseGlobalId(id);
    if (!decoded) return null;
    const key = parseKey(decoded.key);
    switch (decoded.type) {
      case 'Architecture':
        return isKey(key) ? this.architectures.findOne(key) : null;
      case 'Layer':
        return isKey(key) ? this.architectures.findLayer(key) : null;
      case 'Dataset':
        return this.datasets.findByName(decoded.key);
      case 'TrainingRun':
        return isKey(key) ? this.runs.findOne(key) : null;
      case 'Probe':
        return isKey(key) ? this.probes.findOne(key) : null;
      case 'LayerProbe':
        return isKey(key) ? this.probes.findLayer(key) : null;
      case 'FilterResult':
        return isKey(key) ? this.filters.findOne(key) : null;
    }
  }

  findMany(ids: readonly string[]): Promise<(Node | null)[]> {
    return Promise.all(ids.map((id) => this.findOne(id)));
  }
}
