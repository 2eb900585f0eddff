import type { DatasetOptions } from '../../contract/datasets.js';
import { proceduralLabelNames, resolveProceduralOptions } from '../../data/procedural.js';
import { badInput } from '../errors.js';
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

  /** Folders searched for dataset files (FILTERSCOPE_DATA, then /usr/share/datasets). */
  get searchRoots(): readonly string[] {
    return this.roots;
  }

  /**
   * A dataset a job will use, checked: known, available here, options only for `procedural`
   * (checked by its generator). Errors name `<prefix>.dataset` or `<prefix>.datasetOptions.<field>`.
   * Returns the input shape, labels and split sizes the options give.
   */
  resolve(
    name: string,
    given: object | null | undefined,
    prefix: string,
  ): {
    dataset: Dataset;
    options: DatasetOptions;
    inputShape: readonly [number, number, number];
    labels: number;
    trainSize: number;
    testSize: number;
  } {
    const dataset = this.findByName(name);
    if (!dataset) {
      const names = this.findMany().map((d) => d.name);
      throw badInput(`${prefix}.dataset`, name, `is not a known dataset (${names.join(', ')})`);
    }
    if (!dataset.available)
      throw badInput(
        `${prefix}.dataset`,
        name,
        `is not available here: missing ${dataset.missingFiles.join(', ')} (searched ${dataset.searched.join(', ')})`,
      );
    const [h = 0, w = 0, c = 0] = dataset.inputShape;
    const plain = {
      dataset,
      options: {},
      inputShape: [h, w, c] as const,
      labels: dataset.labels,
      trainSize: dataset.trainSize,
      testSize: dataset.testSize,
    };
    if (dataset.name !== 'procedural') {
      if (!given) return plain;
      throw badInput(
        `${prefix}.datasetOptions`,
        { ...given },
        `only the procedural dataset takes options, not ${dataset.name}`,
      );
    }
    const options = Object.fromEntries(
      Object.entries(given ?? {}).filter(([, v]) => v !== undefined && v !== null),
    ) as DatasetOptions;
    try {
      const r = resolveProceduralOptions(options);
      return {
        dataset,
        // The options as given, with the generator version even when left out: a later version
        // must not change the data this run regenerates when it resumes or is probed.
        options: { ...options, generatorVersion: r.generatorVersion },
        inputShape: [r.imageSize, r.imageSize, r.channels] as const,
        labels: r.labels,
        trainSize: r.trainSize,
        testSize: r.testSize,
      };
    } catch (error) {
      const message = (error as Error).message;
      const field = /: (\w+) must/.exec(message)?.[1] ?? 'datasetOptions';
      throw badInput(
        `${prefix}.datasetOptions.${field}`,
        (options as Record<string, unknown>)[field],
        message.replace(/^procedural dataset: \w+ /, '').replace(/, got .*$/, ''),
      );
    }
  }

  /** The label names of a dataset as a run uses it (procedural: from its label count). */
  labelNames(name: string, options: DatasetOptions): string[] {
    if (name === 'procedural') {
      try {
        return proceduralLabelNames(options.labels ?? 10);
      } catch {
        return [];
      }
    }
    return [...(this.findByName(name)?.labelNames ?? [])];
  }
}
