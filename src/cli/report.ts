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
import { reportCharts } from './report-charts.js';
import { heatmapPath, reportReadme } from './report-readme.js';
import { markdownTable } from './report-settings.js';

export { heatmapPath };

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
            raw: heatmapPath(layer, 'best', i, f.index, 'raw'),
          })),
          worst: h.worst.map((f, i) => ({
            index: f.index,
            snr: f.snr,
            file: heatmapPath(layer, 'worst', i, f.index),
            raw: heatmapPath(layer, 'worst', i, f.index, 'raw'),
          })),
        },
      ]),
    ),
    stream: data.stream,
    files,
  };
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
  Object.assign(files, reportCharts(data));
  for (const [layer, h] of data.heatmaps) {
    for (const kind of ['best', 'worst'] as const)
      h[kind].forEach((f, i) => {
        files[heatmapPath(layer, kind, i, f.index)] = f.svg;
        files[heatmapPath(layer, kind, i, f.index, 'raw')] = f.raw;
      });
  }
  const names = ['README.md', 'report.json', ...Object.keys(files)];
  const summary = summaryOf(data, names);
  files['report.json'] = `${JSON.stringify(summary, null, 2)}\n`;
  const s = summary as {
    run: { durationSeconds: number | null };
    probe: { durationSeconds: number | null };
    command: { seconds: number | null };
  };
  files['README.md'] = reportReadme(
    data,
    { run: s.run.durationSeconds, probe: s.probe.durationSeconds, command: s.command.seconds },
    names,
  );
  for (const [name, text] of Object.entries(files)) {
    const path = join(folder, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
  return names;
}
