import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FilterRow, LayerDetails, RunDetails } from '../../../src/cli/operations.js';
import type { ReportData } from '../../../src/cli/report-data.js';
import { writeReport } from '../../../src/cli/report.js';
import { CATALOG } from '../../../src/data/catalog.js';

/** writeReport on a report's data as the API gives it: the files, their charts and the README. */

const FASHION = [...CATALOG.find((d) => d.name === 'fashion-mnist')!.labelNames];
const spread = (values: number[]) => {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1));
  return { mean, std, values };
};

function layer(name: string, sr: number[], silent: number, replicates = true): LayerDetails {
  const s = spread(sr);
  return {
    id: `L-${name}`,
    layerName: name,
    complete: true,
    successRate: s.mean,
    probePointShape: [7, 7, 16],
    meanClusterSize: 1.5,
    meanClustersPerFilter: 2.2,
    clusteredFraction: 0.9,
    meanNoise: 3.1,
    snr: 2.5,
    silentFilters: silent,
    afcc: { keptFraction: 0.2, kept: 320, total: 1600, srBefore: s.mean, srAfter: s.mean - 0.01 },
    history: [
      { epoch: 1, trainLoss: 0.9, testSR: s.mean - 0.02, learningRate: 0.01 },
      { epoch: 2, trainLoss: 0.7, testSR: s.mean, learningRate: 0.005 },
    ],
    layer: { filters: 16 },
    replicates: replicates
      ? {
          replicates: 3,
          successRate: s,
          snr: spread([2.4, 2.5, 2.6]),
          meanNoise: spread([3, 3.1, 3.2]),
          meanClustersPerFilter: spread([2.1, 2.2, 2.3]),
        }
      : null,
  };
}

const filters = (n: number): FilterRow[] =>
  Array.from({ length: n }, (_, index) => ({
    id: `F${index}`,
    index,
    scale: 1,
    silent: index === 0,
    preferredLabel: 1,
    preference: 0.9,
    clusters: [{ labels: [4, 6], names: ['Coat', 'Shirt'] }],
    signal: 4,
    noise: 2,
    snr: 2,
    noiseFree: false,
    ablation: 0.001,
    correlation: { rows: [[0]] },
  }));

function reportData(over: Partial<ReportData> = {}): ReportData {
  const run: RunDetails = {
    id: 'RUN1',
    status: 'SUCCEEDED',
    dataset: 'fashion-mnist',
    datasetOptions: {},
    epoch: 2,
    epochs: 2,
    backend: 'wasm',
    device: 'CPU',
    threads: 2,
    trainExamples: 6000,
    testExamples: 1000,
    error: null,
    createdAt: '2026-01-01T00:00:00Z',
    startedAt: '2026-01-01T00:00:01Z',
    finishedAt: '2026-01-01T00:01:01Z',
    finalTestSR: 0.87,
    bestTestSR: 0.87,
    keepCheckpoints: 2,
    hyperparameters: {
      epochs: 2,
      batchSize: 128,
      learningRate: 0.05,
      momentum: 0.9,
      nesterov: false,
      weightDecay: 5e-4,
      augmentation: 'NONE',
      seed: 1,
      maxTrainExamples: 6000,
      maxTestExamples: 1000,
      schedule: { kind: 'COSINE', warmupEpochs: 0, milestones: [], factor: 0.1 },
    },
    origin: 'TRAINED',
    imported: null,
    architecture: {
      id: 'A',
      name: 'VGG-6/28x28x1',
      inputShape: [28, 28, 1],
      labels: 10,
      parameterCount: 1000,
      flops: 1,
      layers: [],
    },
    metrics: [1, 2].map((epoch) => ({
      epoch,
      trainLoss: 1 / epoch,
      trainSR: 0.8 + epoch / 100,
      testLoss: 1.1 / epoch,
      testSR: 0.85 + epoch / 100,
      learningRate: 0.05,
      wallSeconds: 30 * epoch,
    })),
  };
  const layers = [
    layer('conv1', [0.84, 0.845, 0.85], 2),
    layer('conv2', [0.86, 0.862, 0.87], 0),
    layer('conv3', [0.875, 0.878, 0.88], 5),
  ];
  return {
    command: {
      argv: ['reproduce'],
      startedAt: '2026-01-01T00:00:00Z',
      finishedAt: '2026-01-01T00:03:00Z',
      server: 'http://127.0.0.1:4000/graphql',
      embedded: false,
    },
    run,
    probe: {
      id: 'PROBE1',
      status: 'SUCCEEDED',
      options: {
        layers: ['conv1', 'conv2', 'conv3'],
        afterPooling: true,
        maxFeatures: 32768,
        headEpochs: 2,
        learningRate: 0.01,
        momentum: 0.9,
        weightDecay: 5e-4,
        batchSize: 128,
        maxTrainExamples: 6000,
        maxTestExamples: 1000,
        featureCacheBytes: 536870912,
        seed: 0,
        replicates: 3,
        metrics: { threshold: 0.3, normalization: 'COLUMN_CENTERED', minScale: 0.05 },
        filtersPerEvent: 64,
      },
      layerNames: ['conv1', 'conv2', 'conv3'],
      backend: 'wasm',
      device: 'CPU',
      forwardCalls: 1,
      error: null,
      createdAt: '2026-01-01T00:01:02Z',
      startedAt: '2026-01-01T00:01:03Z',
      finishedAt: '2026-01-01T00:02:03Z',
      run: { id: 'RUN1' },
      layers,
    },
    dataset: {
      name: 'fashion-mnist',
      available: true,
      inputShape: [28, 28, 1],
      labels: 10,
      labelNames: FASHION,
      trainSize: 60000,
      testSize: 10000,
      location: '/usr/share/datasets/fashion-mnist',
      missingFiles: [],
      searched: [],
    },
    labelNames: FASHION,
    filters: new Map(layers.map((l) => [l.layerName, filters(16)])),
    heatmaps: new Map([
      [
        'conv1',
        { best: [{ index: 3, snr: 4, svg: '<svg>N</svg>', raw: '<svg>M</svg>' }], worst: [] },
      ],
    ]),
    stream: {},
    ...over,
  };
}

describe('the report folder', () => {
  let folder: string;
  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'report-'));
  });
  afterEach(() => rmSync(folder, { recursive: true, force: true }));
  const read = (f: string) => readFileSync(join(folder, f), 'utf8');
  const yTicks = (svg: string) =>
    [...svg.matchAll(/text-anchor="end" dominant-baseline="middle">([-\d.]+)<\/text>/g)].map((m) =>
      Number(m[1]),
    );

  it('draws SR from 0 to 1 with chance, not from 0.84 to 0.88, with the replicate spread', () => {
    const files = writeReport(folder, reportData());
    const sr = read('sr-per-layer.svg');
    expect(yTicks(sr)[0]).toBe(0);
    expect(yTicks(sr).at(-1)).toBe(1);
    expect(sr).toContain('>chance (1/10)</text>');
    expect(sr.match(/class="error-bar"/g)).toHaveLength(3);
    expect(sr).toContain('mean ± std of 3 heads');
    for (const c of ['training-sr.svg', 'head-training.svg']) {
      expect(yTicks(read(c))[0]).toBe(0);
      expect(yTicks(read(c)).at(-1)).toBe(1);
    }
    expect(files).toEqual(expect.arrayContaining(['sr-per-layer.svg', 'training-sr.svg']));
  });

  it('puts one quantity on each axis and shows the silent filters', () => {
    writeReport(folder, reportData());
    const snr = read('snr-per-layer.svg');
    expect(snr.match(/<g class="series"/g)).toHaveLength(1);
    expect(snr).not.toContain('noise');
    expect(snr.match(/class="error-bar"/g)).toHaveLength(3);
    expect(read('noise-per-layer.svg')).toContain('data-name="noise / filter"');
    expect(read('clusters-per-layer.svg')).toContain('data-name="clusters / filter"');
    const silent = read('silent-filters-per-layer.svg');
    expect(silent).toContain('data-name="silent"');
    expect(silent).toContain('data-name="all filters"');
    // The counts 2, 0, 5 are drawn: three points, the highest (5) above the lowest (0).
    const ys = silent
      .split('data-name="silent"')[1]!
      .split('</g>')[0]!
      .match(/<circle cx="[\d.]+" cy="([\d.]+)"/g)!
      .map((c) => Number(/cy="([\d.]+)"/.exec(c)![1]));
    expect(ys).toHaveLength(3);
    expect(ys[2]).toBeLessThan(ys[0]!);
    expect(ys[0]).toBeLessThan(ys[1]!);
    expect(yTicks(silent).every((t) => Number.isInteger(t))).toBe(true);
  });

  it('draws no error bars for a probe with one head per layer', () => {
    const data = reportData();
    const layers = data.probe.layers.map((l) => ({ ...l, replicates: null }));
    writeReport(folder, { ...data, probe: { ...data.probe, layers } });
    expect(read('sr-per-layer.svg')).not.toContain('error-bar');
  });

  it('writes both heatmap views and links them', () => {
    writeReport(folder, reportData());
    expect(read('heatmaps/conv1/best-1-filter-3.svg')).toBe('<svg>N</svg>');
    expect(read('heatmaps/conv1/best-1-filter-3-raw.svg')).toBe('<svg>M</svg>');
    const readme = read('README.md');
    expect(readme).toContain('[3](heatmaps/conv1/best-1-filter-3.svg)');
    expect(readme).toContain('[raw](heatmaps/conv1/best-1-filter-3-raw.svg)');
    expect(readme).toContain('![conv1: best filter](heatmaps/conv1/best-1-filter-3.svg)');
  });

  it('names the data, the images each phase used and every setting with human names', () => {
    writeReport(folder, reportData());
    const readme = read('README.md');
    expect(readme).not.toContain('fashion-mnist {}');
    expect(readme).toContain(
      "| Dataset options | none given: the dataset's own files and splits |",
    );
    expect(readme).toContain('| Files | /usr/share/datasets/fashion-mnist |');
    expect(readme).toContain('| Phase 1 trained on | the first 6000 of 60000 train images |');
    expect(readme).toContain('| Phase 2 heads tested on | the first 1000 of 10000 test images |');
    expect(readme).toContain('T-shirt/top, Trouser');
    for (const row of [
      '| Momentum | 0.9 |',
      '| Weight decay | 5.0e-4 |',
      '| Learning-rate schedule | COSINE |',
      '| Seed (initialisation, shuffles, augmentation) | 1 |',
      '| Nesterov momentum | no |',
      '| Head epochs | 2 |',
      '| Head momentum | 0.9 |',
      '| Replicate heads per layer (seeds seed, seed+1, ...) | 3 |',
      '| Probed layers | conv1, conv2, conv3 |',
      '| Mark threshold (N >= threshold) | 0.3 |',
      '| Normalisation of the matrix | COLUMN_CENTERED |',
      '| Silent below scale (minScale) | 0.05 |',
    ])
      expect(readme).toContain(row);
    // No API name is left as a row name: every option has its human name.
    expect(readme).not.toMatch(
      /^\| (maxFeatures|featureCacheBytes|filtersPerEvent|weightDecay) \|/m,
    );
    expect(readme).toContain(
      '| Layer | Probe point (h x w x F) | Filters | Silent filters | SR of the layer head |',
    );
    expect(readme).toMatch(/\| conv1 \| 7 x 7 x 16 \| 16 \| 2 \| 0\.845 ± 0\.005 \|/);
  });

  it('lists procedural options and an unknown setting under its API name', () => {
    const data = reportData();
    writeReport(folder, {
      ...data,
      run: {
        ...data.run,
        dataset: 'procedural',
        datasetOptions: { imageSize: 16, labels: 4, seed: 7, trainSize: 3000 },
        trainExamples: 3000,
      },
      probe: {
        ...data.probe,
        options: { ...data.probe.options, newKnob: 5, maxTrainExamples: null },
      },
      // The server lists the procedural dataset with its default sizes.
      dataset: { ...data.dataset!, name: 'procedural', location: null, trainSize: 10000 },
    });
    const readme = read('README.md');
    expect(readme).toContain(
      '| Dataset options | Image size (pixels): 16; Labels: 4; Train images generated: 3000; Generator seed: 7 |',
    );
    expect(readme).toContain('| Phase 1 trained on | all 3000 train images |');
    expect(readme).toContain('| Phase 2 heads trained on | all 3000 train images |');
    expect(readme).toContain('| Files | generated (procedural) |');
    expect(readme).toContain('| newKnob | 5 |');
  });

  it('links the CSV/JSON files here and the server exports, model files included', () => {
    writeReport(folder, reportData());
    const readme = read('README.md');
    for (const f of ['layers.csv', 'filters.csv', 'filters.json', 'training.csv', 'report.json'])
      expect(readme).toContain(`[${f}](${f})`);
    for (const path of [
      '/export/runs/RUN1/metrics.csv',
      '/export/probes/PROBE1/layers.csv',
      '/export/probes/PROBE1/filters.json',
      '/export/runs/RUN1/model.onnx',
      '/export/runs/RUN1/tfjs/model.json',
    ])
      expect(readme).toContain(`[${path}](http://127.0.0.1:4000${path})`);
    rmSync(folder, { recursive: true, force: true });
    const data = reportData();
    writeReport(folder, { ...data, command: { ...data.command, embedded: true } });
    expect(read('README.md')).toContain('`/export/runs/RUN1/model.onnx`');
    expect(read('README.md')).toContain('From `filterscope serve` on the same FILTERSCOPE_HOME');
  });

  it('says where an imported network came from, without phase 1 charts or settings', () => {
    const data = reportData();
    const files = writeReport(folder, {
      ...data,
      run: {
        ...data.run,
        origin: 'IMPORTED',
        hyperparameters: null,
        epochs: null,
        metrics: [],
        imported: {
          fileName: 'vgg.onnx',
          format: 'ONNX',
          sizeBytes: 1234,
          sha256: 'ab'.repeat(32),
        },
      },
    });
    const readme = read('README.md');
    expect(readme).toContain('| File | vgg.onnx |');
    expect(readme).toContain('| Phase 1 trained on | trained elsewhere (imported) |');
    expect(readme).toContain('no training history here');
    expect(readme).not.toContain('| Phase 1 setting |');
    expect(files).not.toContain('training-sr.svg');
    expect(files).toContain('sr-per-layer.svg');
  });
});
