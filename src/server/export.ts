import type { ServerResponse } from 'node:http';
import { GraphQLError } from 'graphql';
import { decodeIntId } from '../api/relay/global-id.js';
import { notFound } from '../api/errors.js';
import type { Services } from '../api/services.js';
import type { FilterResult } from '../api/probe/filter.type.js';
import { clusterText, csvField, FILTER_COLUMNS, type CsvValue } from '../csv.js';
import { sendJson } from './http.js';

/**
 * Export routes: `/export/runs/:id/metrics.csv`, `/export/runs/:id/model.onnx`,
 * `/export/runs/:id/tfjs/model.json` (+ `tfjs/weights.bin`, which model.json names),
 * `/export/probes/:id/filters.{csv,json}`, `/export/probes/:id/layers.csv`.
 */
export const EXPORT_ROUTE =
  /^\/export\/(runs|probes)\/([^/]+)\/(metrics\.csv|filters\.csv|filters\.json|layers\.csv|model\.onnx|tfjs\/model\.json|tfjs\/weights\.bin)$/;

/** Model files: where each comes from and how it is sent. */
const MODEL_FILES: Readonly<
  Record<string, { format: 'onnx' | 'tfjs'; file: string; type: string }>
> = {
  'model.onnx': { format: 'onnx', file: 'model.onnx', type: 'application/octet-stream' },
  'tfjs/model.json': {
    format: 'tfjs',
    file: 'model.json',
    type: 'application/json; charset=utf-8',
  },
  'tfjs/weights.bin': { format: 'tfjs', file: 'weights.bin', type: 'application/octet-stream' },
};

const STATUS_OF_CODE: Readonly<Record<string, number>> = {
  BAD_USER_INPUT: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
};

const csvLine = (fields: readonly CsvValue[]): string => `${fields.map(csvField).join(',')}\n`;

/** Per probed layer: SR(l) and the aggregates (means over replicates) with their spread. */
export const LAYER_EXPORT_COLUMNS = [
  'layer',
  'probePoint',
  'filters',
  'silentFilters',
  'replicates',
  'successRate',
  'successRateStd',
  'snr',
  'snrStd',
  'meanNoise',
  'meanNoiseStd',
  'meanClusterSize',
  'meanClusterSizeStd',
  'meanClustersPerFilter',
  'meanClustersPerFilterStd',
  'clusteredFraction',
  'clusteredFractionStd',
  'afccKeptFraction',
  'afccSrBefore',
  'afccSrAfter',
] as const;

export const METRICS_COLUMNS = [
  'epoch',
  'trainLoss',
  'trainSR',
  'testLoss',
  'testSR',
  'learningRate',
  'wallSeconds',
] as const;

/** A filter's row, as in the JSON export (the CSV writes clusters with `clusterText`). */
function filterRecord(layer: string, f: FilterResult) {
  return {
    layer,
    index: f.index,
    scale: f.scale,
    silent: f.silent,
    preferredLabel: f.preferredLabel,
    preferredLabelName: f.correlation.labels[f.preferredLabel] ?? null,
    preference: f.preference,
    clusters: f.clusters.map((c) => c.names),
    clusterLabels: f.clusters.map((c) => c.labels),
    signal: f.signal,
    noise: f.noise,
    snr: f.snr,
    noiseFree: f.noiseFree,
    ablation: f.ablation,
  };
}

/**
 * Answers an export route, streaming rows as they are read. Unknown or malformed ids answer
 * 404/400 with the same `{ errors: [{ message, extensions: { code } }] }` body as /graphql.
 */
export async function serveExport(
  match: RegExpExecArray,
  services: Services,
  res: ServerResponse,
): Promise<void> {
  const [, collection, id, file] = match as unknown as [string, string, string, string];
  try {
    if (collection === 'runs' && file === 'metrics.csv') {
      const key = decodeIntId(id, 'TrainingRun', 'id');
      if (!(await services.runs.findOne(key))) throw notFound('TrainingRun', id);
      const metrics = await services.runs.metrics(key, null);
      start(res, 'text/csv; charset=utf-8', `run-${id}-metrics.csv`);
      res.write(csvLine(METRICS_COLUMNS));
      for (const m of metrics) res.write(csvLine(METRICS_COLUMNS.map((c) => m[c])));
      res.end();
      return;
    }
    const model = collection === 'runs' ? MODEL_FILES[file] : undefined;
    if (model) {
      const files = await services.runs.exportModel(id, model.format);
      const bytes = files[model.file]!;
      start(res, model.type, `run-${id}-${model.file}`);
      res.end(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return;
    }
    if (collection === 'probes' && file === 'layers.csv') {
      const key = decodeIntId(id, 'Probe', 'id');
      const probe = await services.probes.findOne(key);
      if (!probe) throw notFound('Probe', id);
      const layers = await services.probes.findLayers(probe);
      start(res, 'text/csv; charset=utf-8', `probe-${id}-layers.csv`);
      res.write(csvLine(LAYER_EXPORT_COLUMNS));
      for (const l of layers) {
        const arch = await services.architectures.findLayer(l.layerKey);
        const r = l.replicates;
        res.write(
          csvLine([
            l.layerName,
            l.probePointShape?.join('x') ?? null,
            arch?.filters ?? null,
            l.silentFilters,
            r?.replicates ?? null,
            l.successRate,
            r?.successRate.std ?? null,
            l.snr,
            r?.snr.std ?? null,
            l.meanNoise,
            r?.meanNoise.std ?? null,
            l.meanClusterSize,
            r?.meanClusterSize.std ?? null,
            l.meanClustersPerFilter,
            r?.meanClustersPerFilter.std ?? null,
            l.clusteredFraction,
            r?.clusteredFraction.std ?? null,
            l.afcc?.keptFraction ?? null,
            l.afcc?.srBefore ?? null,
            l.afcc?.srAfter ?? null,
          ]),
        );
      }
      res.end();
      return;
    }
    if (collection === 'probes' && file.startsWith('filters.')) {
      const key = decodeIntId(id, 'Probe', 'id');
      const probe = await services.probes.findOne(key);
      if (!probe) throw notFound('Probe', id);
      const layers = await services.probes.findLayers(probe);
      const json = file === 'filters.json';
      start(
        res,
        json ? 'application/json; charset=utf-8' : 'text/csv; charset=utf-8',
        `probe-${id}-${file}`,
      );
      if (!json) res.write(csvLine(FILTER_COLUMNS));
      else
        res.write(
          `{"probeId":${JSON.stringify(id)},"status":${JSON.stringify(probe.status)},"filters":[`,
        );
      let first = true;
      for (const layer of layers) {
        for await (const f of services.filters.all(layer)) {
          const record = filterRecord(layer.layerName, f);
          if (json) {
            const withMatrix = {
              ...record,
              correlation: { labels: f.correlation.labels, rows: f.correlation.rows },
            };
            res.write(`${first ? '' : ','}\n${JSON.stringify(withMatrix)}`);
          } else {
            const cells = {
              ...record,
              clusters: clusterText(record.clusters),
              clusterLabels: clusterText(record.clusterLabels),
            };
            res.write(csvLine(FILTER_COLUMNS.map((c) => cells[c])));
          }
          first = false;
        }
      }
      if (json) res.write('\n]}\n');
      res.end();
      return;
    }
    fail(res, 404, 'NOT_FOUND', `no export ${file} for ${collection}`);
  } catch (error) {
    const code = error instanceof GraphQLError ? error.extensions.code : undefined;
    if (res.headersSent || typeof code !== 'string' || !(code in STATUS_OF_CODE)) throw error;
    const { message, extensions } = error as GraphQLError;
    sendJson(res, STATUS_OF_CODE[code]!, { errors: [{ message, extensions }] });
  }
}

function start(res: ServerResponse, type: string, filename: string): void {
  res.writeHead(200, {
    'content-type': type,
    'content-disposition': `attachment; filename="${filename.replace(/[^A-Za-z0-9._-]/g, '_')}"`,
    'cache-control': 'no-store',
  });
}

function fail(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { errors: [{ message, extensions: { code } }] });
}
