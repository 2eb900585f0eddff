import { dataRoots, scanDatasets } from '../../data/catalog.js';
import { Dataset } from './dataset.type.js';

/** The dataset catalog with file presence checked at each call (files may appear while serving). */
export class DatasetService {
  private readonly roots: string[];

  constructor(dataPath: string | undefined) {
    this.roots = dataRoots(dataPath);
  }

  findMany(): Dataset[] {
    return scanDatasets(this.roots).map((entry) => Dataset.from(entry, this.roots));
  }

  findByName(name: string): Dataset | null {
    return this.findMany().find((d) => d.name === name) ?? null;
  }
}
