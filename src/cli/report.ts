import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FILTER_COLUMNS, toCsv } from '../csv.js';
import {
  LAYER_COLUMNS,
  filterRow,
  layerRow,
  meanFilterSnr,
  secondsBetween,
  type ReportData,
} from './report-data.js';
import { lineChart } from './svg-charts.js';

const md = (v: string | number | boolean | null | undefined, digits = 3): string => {
  if (v === null || v === undefined) return 'n/a';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(digits);
  return String(v).replace(/\|/g, '\\|');
};

function markdownTable(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const line = (cells: readonly unknown[]) =>
    `| ${cells.map((c) => md(c as string | number | null)).join(' | ')} |`;
  return [line(header), `| ${header.map(() => '---').join(' | ')} |`, ...rows.map(line)].join('\n');
}

/** The per-layer table in markdown (layers.md and the folder's README). */
export function layersMarkdown(data: ReportData): string {
  const rows = data.probe.layers.map((l) => layerRow(l, data.filters.get(l.layerName) ?? []));
  return markdownTable(LAYER_COLUMNS, rows);
}

/** report.json: the summary with every number of the run and the probe. */
export function summaryOf(data: ReportData, files: readonly string[]): Record<string, unknown> {
  const { run, probe } = data;
  return {
    tool: 'filterscope reproduce',
    command: {
      ...data.command,
      seconds: secondsBetween(data.command.startedAt, data.command.finishedAt),
    },
    run: {
      ...run,
      queuedSeconds: secondsBetween(run.createdAt, run.startedAt),
      durationSeconds: secondsBetween(run.startedAt, run.finishedAt),
    },
    probe: {
      ...probe,
      queuedSeconds: secondsBetween(probe.createdAt, probe.startedAt),
      durationSeconds: secondsBetween(probe.startedAt, probe.finishedAt),
      layers: probe.layers.map((l) => ({
        ...l,
        filters: data.filters.get(l.layerName)?.length ?? 0,
        meanFilterSnr: meanFilterSnr(data.filters.get(l.layerName) ?? []),
      })),
    },
    labelNames: data.labelNames,
    heatmaps: Object.fromEntries(
      [...data.heatmaps].map(([layer, h]) => [
        layer,
        {
          best: h.best.map((f, i) => ({
            index: f.index,
            snr: f.snr,
            file: heatmapPath(layer, 'best', i, f.index),
          })),
          worst: h.worst.map((f, i) => ({
            index: f.index,
            snr: f.snr,
            file: heatmapPath(layer, 'worst', i, f.index),
          })),
        },
      ]),
    ),
    stream: data.stream,
    files,
  };
}

/** Phase 1's loss and SR per epoch (a run trained here). */
function trainingCharts(m: ReportData['run']['metrics']): Record<string, string> {
  return {
    'training-loss.svg': lineChart({
      title: 'Phase 1: loss per epoch',
      xLabel: 'epoch',
      yLabel: 'cross-entropy loss',
      series: [
        { name: 'train', points: m.map((e) => [e.epoch, e.trainLoss]) },
        { name: 'test', points: m.map((e) => [e.epoch, e.testLoss]), dashed: true },
      ],
    }),
    'training-sr.svg': lineChart({
      title: 'Phase 1: success rate per epoch',
      xLabel: 'epoch',
      yLabel: 'SR',
      series: [
        { name: 'train', points: m.map((e) => [e.epoch, e.trainSR]) },
        { name: 'test', points: m.map((e) => [e.epoch, e.testSR]), dashed: true },
      ],
    }),
  };
}

/** The report's phase 1 row: the hyperparameters, or the file an imported network came from. */
function phaseOneRow(run: ReportData['run']): string {
  if (run.imported)
    return `imported network | ${run.imported.fileName} (${run.imported.format}, ${run.imported.sizeBytes} bytes, sha256 \`${run.imported.sha256.slice(0, 16)}...\`)`;
  const hp: Record<string, unknown> = run.hyperparameters ?? {};
  return `hyperparameters | ${run.epochs} epochs, batch ${md(hp.batchSize as number)}, lr ${md(hp.learningRate as number, 4)}, augmentation ${md(hp.augmentation as string)}`;
}

export const heatmapPath = (layer: string, kind: 'best' | 'worst', rank: number, index: number) =>
  `heatmaps/${layer.replace(/[^A-Za-z0-9_.-]/g, '_')}/${kind}-${rank + 1}-filter-${index}.svg`;

function charts(data: ReportData): Record<string, string> {
  const m = data.run.metrics;
  const layers = data.probe.layers;
  const xTicks = layers.map((l, i) => ({ value: i + 1, label: l.layerName }));
  return {
    ...(data.run.origin === 'IMPORTED' ? {} : trainingCharts(m)),
    'sr-per-layer.svg': lineChart({
      title: 'Phase 2: SR of a readout per conv layer',
      xLabel: 'layer',
      yLabel: 'SR',
      xTicks,
      series: [
        { name: 'SR(layer)', points: layers.map((l, i) => [i + 1, l.successRate]) },
        {
          name: 'network test SR',
          points: layers.map((_, i) => [i + 1, data.run.finalTestSR]),
          dashed: true,
        },
      ],
    }),
    'snr-per-layer.svg': lineChart({
      title: 'Phase 3: SNR and noise per conv layer',
      xLabel: 'layer',
      yLabel: 'value',
      xTicks,
      series: [
        { name: 'layer SNR', points: layers.map((l, i) => [i + 1, l.snr]) },
        {
          name: 'noise / filter',
          points: layers.map((l, i) => [i + 1, l.meanNoise]),
          dashed: true,
        },
        {
          name: 'clusters / filter',
          points: layers.map((l, i) => [i + 1, l.meanClustersPerFilter]),
        },
      ],
    }),
    'head-training.svg': lineChart({
      title: 'Phase 2: head test SR per head epoch',
      xLabel: 'head epoch',
      yLabel: 'SR',
      series: layers.map((l) => ({
        name: l.layerName,
        points: l.history.map((h) => [h.epoch, h.testSR] as const),
      })),
    }),
  };
}

function readme(
  data: ReportData,
  summary: Record<string, unknown>,
  files: readonly string[],
): string {
  const { run, probe } = data;
  const s = summary as {
    run: { durationSeconds: number | null };
    probe: { durationSeconds: number | null };
    command: { seconds: number | null };
  };
  const heatmapLines = [...data.heatmaps].map(([layer, h]) => {
    const link = (kind: 'best' | 'worst', list: typeof h.best) =>
      list
        .map(
          (f, i) =>
            `[${f.index}](${heatmapPath(layer, kind, i, f.index)}) (SNR ${f.snr.toFixed(2)})`,
        )
        .join(', ') || 'none';
    return `- ${layer}: best ${link('best', h.best)}; worst ${link('worst', h.worst)}`;
  });
  return `# filterscope reproduce: ${run.architecture.name} on ${run.dataset}

| | |
| --- | --- |
| training run | \`${run.id}\` (${run.status}) |
| probe | \`${probe.id}\` (${probe.status}) |
| architecture | ${run.architecture.name}, ${run.architecture.parameterCount} parameters |
| dataset | ${run.dataset} ${JSON.stringify(run.datasetOptions)}, ${run.trainExamples ?? '?'} train / ${run.testExamples ?? '?'} test examples |
| ${phaseOneRow(run)} |
| probe options | ${probe.options.headEpochs} head epochs, ${probe.options.maxTrainExamples ?? 'all'} train / ${probe.options.maxTestExamples ?? 'all'} test examples |
| backend | ${run.backend ?? '?'} (${run.device ?? '?'}); probe ${probe.backend ?? '?'}${probe.device ? ` (${probe.device})` : ''} |
| durations | training ${md(s.run.durationSeconds, 0)} s, probe ${md(s.probe.durationSeconds, 0)} s, this command ${md(s.command.seconds, 0)} s |
| final test SR | ${md(run.finalTestSR, 4)} (best ${md(run.bestTestSR, 4)}) |
| server | ${data.command.embedded ? 'embedded' : data.command.server} |

## Per layer

${layersMarkdown(data)}

\`snr\` is the layer's (total signal / total noise over its non-silent filters, from the API);
\`meanFilterSnr\` is the mean of those filters' own SNRs where they have noise.

![SR per layer](sr-per-layer.svg)
![SNR per layer](snr-per-layer.svg)

## Training

${
  run.origin === 'IMPORTED'
    ? 'Imported: trained elsewhere, so there is no training history here.'
    : '![loss](training-loss.svg)\n![SR](training-sr.svg)'
}
![heads](head-training.svg)

## Label-matrix heatmaps (best and worst filters by SNR, non-silent ones with noise)

${heatmapLines.join('\n')}

## Files

${files.map((f) => `- [${f}](${f})`).join('\n')}
`;
}

/**
 * Writes the report folder: report.json, README.md, layers.md/.csv, filters.csv/.json,
 * training.csv, the charts and the heatmaps. Returns the files written, relative to `folder`.
 */
export function writeReport(folder: string, data: ReportData): string[] {
  const files: Record<string, string> = {};
  const rows = data.probe.layers.map((l) => layerRow(l, data.filters.get(l.layerName) ?? []));
  files['layers.csv'] = toCsv(LAYER_COLUMNS, rows);
  files['layers.md'] = `${layersMarkdown(data)}\n`;
  const filterRows = data.probe.layers.flatMap((l) =>
    (data.filters.get(l.layerName) ?? []).map((f) => filterRow(l.layerName, f, data.labelNames)),
  );
  files['filters.csv'] = toCsv(FILTER_COLUMNS, filterRows);
  files['filters.json'] = `${JSON.stringify(
    data.probe.layers.flatMap((l) =>
      (data.filters.get(l.layerName) ?? []).map(({ correlation, ...f }) => ({
        layer: l.layerName,
        ...f,
        preferredLabelName: data.labelNames[f.preferredLabel] ?? null,
        matrix: correlation.rows,
      })),
    ),
  )}\n`;
  files['training.csv'] = toCsv(
    ['epoch', 'trainLoss', 'trainSR', 'testLoss', 'testSR', 'learningRate', 'wallSeconds'],
    data.run.metrics.map((e) => [
      e.epoch,
      e.trainLoss,
      e.trainSR,
      e.testLoss,
      e.testSR,
      e.learningRate,
      e.wallSeconds,
    ]),
  );
  Object.assign(files, charts(data));
  for (const [layer, h] of data.heatmaps) {
    h.best.forEach((f, i) => (files[heatmapPath(layer, 'best', i, f.index)] = f.svg));
    h.worst.forEach((f, i) => (files[heatmapPath(layer, 'worst', i, f.index)] = f.svg));
  }
  const names = ['README.md', 'report.json', ...Object.keys(files)];
  const summary = summaryOf(data, names);
  files['report.json'] = `${JSON.stringify(summary, null, 2)}\n`;
  files['README.md'] = readme(data, summary, names);
  for (const [name, text] of Object.entries(files)) {
    const path = join(folder, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
  return names;
}
