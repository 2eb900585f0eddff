import type { LayerDetails } from './operations.js';
import { CHARTS } from './report-charts.js';
import { meanFilterSnr, type ReportData } from './report-data.js';
import {
  dataTable,
  markdownTable,
  md,
  probeTables,
  trainingTable,
  type Cell,
} from './report-settings.js';

/** The report folder's README.md: what ran, on which data, with which settings, and its results. */

export const heatmapPath = (
  layer: string,
  kind: 'best' | 'worst',
  rank: number,
  index: number,
  view: 'normalized' | 'raw' = 'normalized',
) =>
  `heatmaps/${layer.replace(/[^A-Za-z0-9_.-]/g, '_')}/${kind}-${rank + 1}-filter-${index}${view === 'raw' ? '-raw' : ''}.svg`;

/** A value with its replicate spread: "0.861 ± 0.004". */
function withSpread(
  value: number | null,
  std: number | null | undefined,
  replicates: number,
): Cell {
  if (value === null) return null;
  return replicates > 1 && std !== null && std !== undefined
    ? `${md(value, 3)} ± ${md(std, 3)}`
    : md(value, 3);
}

/** The per-layer results with human column names (layers.csv keeps the API's names). */
export function humanLayersTable(data: ReportData): string {
  const header = [
    'Layer',
    'Probe point (h x w x F)',
    'Filters',
    'Silent filters',
    'SR of the layer head',
    'Layer SNR',
    'Mean filter SNR',
    'Noise per filter',
    'Clusters per filter',
    'Mean cluster size',
    'Clustered fraction',
    'AFCC: kept connections',
    'AFCC: SR before → after',
  ];
  const rows = data.probe.layers.map((l: LayerDetails) => {
    const filters = data.filters.get(l.layerName) ?? [];
    const r = l.replicates;
    const n = r?.replicates ?? 1;
    return [
      l.layerName,
      l.probePointShape?.join(' x ') ?? null,
      filters.length,
      l.silentFilters,
      withSpread(l.successRate, r?.successRate.std, n),
      withSpread(l.snr, r?.snr.std, n),
      meanFilterSnr(filters),
      withSpread(l.meanNoise, r?.meanNoise.std, n),
      withSpread(l.meanClustersPerFilter, r?.meanClustersPerFilter.std, n),
      l.meanClusterSize,
      l.clusteredFraction,
      l.afcc ? `${md(l.afcc.keptFraction, 3)} (${l.afcc.kept} of ${l.afcc.total})` : null,
      l.afcc ? `${md(l.afcc.srBefore, 4)} → ${md(l.afcc.srAfter, 4)}` : null,
    ];
  });
  return markdownTable(header, rows);
}

function heatmapSection(data: ReportData): string {
  const lines = [...data.heatmaps].map(([layer, h]) => {
    const link = (kind: 'best' | 'worst', list: typeof h.best) =>
      list
        .map(
          (f, i) =>
            `[${f.index}](${heatmapPath(layer, kind, i, f.index)}) ([raw](${heatmapPath(layer, kind, i, f.index, 'raw')}), SNR ${f.snr.toFixed(2)})`,
        )
        .join(', ') || 'none';
    return `- ${layer}: best ${link('best', h.best)}; worst ${link('worst', h.worst)}`;
  });
  const pictures = [...data.heatmaps]
    .filter(([, h]) => h.best.length > 0)
    .map(
      ([layer, h]) =>
        `![${layer}: best filter](${heatmapPath(layer, 'best', 0, h.best[0]!.index)})`,
    );
  return `Each heatmap shows the normalised matrix N (the API's \`svg(view: NORMALIZED)\`, METHOD.md
defaults), a dot on every mark and an outline around every cluster, the marks, signal, noise and
SNR under it; "raw" is the stored matrix M (\`svg(view: RAW)\`).

${lines.join('\n')}

${pictures.join('\n')}`;
}

const LOCAL_FILES: Record<string, string> = {
  'layers.csv': 'one row per probed layer (API names; layers.md is the same in markdown)',
  'filters.csv':
    'one row per filter: scale, silent, preferred label, clusters, signal, noise, SNR, ablation',
  'filters.json': 'the same filters with their raw correlation matrices',
  'training.csv': 'phase 1 per epoch: losses, SRs, learning rate, wall seconds',
  'report.json': 'every number of the run and the probe, the command and the subscriptions',
};

function downloads(data: ReportData): string {
  const { run, probe } = data;
  let origin = '';
  try {
    origin = data.command.embedded ? '' : new URL(data.command.server).origin;
  } catch {
    origin = '';
  }
  const exports = [
    [`/export/runs/${run.id}/metrics.csv`, 'phase 1 per epoch'],
    [`/export/probes/${probe.id}/layers.csv`, 'per layer, with the replicates’ std columns'],
    [`/export/probes/${probe.id}/filters.csv`, 'per filter'],
    [`/export/probes/${probe.id}/filters.json`, 'per filter, with the raw matrices'],
    ...(run.status === 'SUCCEEDED'
      ? [
          [`/export/runs/${run.id}/model.onnx`, 'the trained network as ONNX'],
          [
            `/export/runs/${run.id}/tfjs/model.json`,
            'the same as TensorFlow.js layers (+ weights.bin)',
          ],
        ]
      : []),
  ].map(([path, what]) => [origin ? `[${path}](${origin}${path})` : `\`${path}\``, what]);
  const where = origin
    ? `From the server (${origin}; send \`Authorization: Bearer <key>\` where keys are set):`
    : 'From `filterscope serve` on the same FILTERSCOPE_HOME or DATABASE_URL as this embedded run (http://localhost:4000 by default):';
  return `In this folder:

${markdownTable(
  ['File', 'What'],
  Object.entries(LOCAL_FILES).map(([f, what]) => [`[${f}](${f})`, what]),
)}

${where}

${markdownTable(['Export', 'What'], exports)}`;
}

export function reportReadme(
  data: ReportData,
  durations: { run: number | null; probe: number | null; command: number | null },
  files: readonly string[],
): string {
  const { run, probe } = data;
  const heatmaps = Math.max(0, ...[...data.heatmaps.values()].map((h) => h.best.length));
  const charts = Object.keys(CHARTS).filter((c) => files.includes(c));
  return `# filterscope reproduce: ${run.architecture.name} on ${run.dataset}

${markdownTable(
  ['Run', 'Value'],
  [
    ['Training run', `\`${run.id}\` (${run.status})`],
    ['Probe', `\`${probe.id}\` (${probe.status})`],
    ['Architecture', `${run.architecture.name}, ${run.architecture.parameterCount} parameters`],
    [
      'Backend',
      `${run.backend ?? '?'} (${run.device ?? '?'}); probe ${probe.backend ?? '?'}${probe.device ? ` (${probe.device})` : ''}`,
    ],
    [
      'Durations (s)',
      `training ${md(durations.run, 0)}, probe ${md(durations.probe, 0)}, this command ${md(durations.command, 0)}`,
    ],
    [
      'Final test SR',
      `${md(run.finalTestSR, 4)} (best ${md(run.bestTestSR, 4)}; chance ${md(1 / run.architecture.labels, 4)})`,
    ],
    ['Server', data.command.embedded ? 'embedded' : data.command.server],
  ],
)}

## Data

${dataTable(data)}

## Settings

${trainingTable(run)}

${probeTables(probe, heatmaps)}

## Per layer

${humanLayersTable(data)}

Values with ± are the mean and standard deviation over the replicate heads. Layer SNR is total
signal / total noise over the non-silent filters (the API's); mean filter SNR is the mean of
those filters' own SNRs where they have noise.

${run.origin === 'IMPORTED' ? 'Imported: trained elsewhere, so there is no training history here.\n\n' : ''}${charts.map((c) => `![${CHARTS[c as keyof typeof CHARTS]}](${c})`).join('\n')}

## Label-matrix heatmaps (best and worst filters by SNR, non-silent ones with noise)

${heatmapSection(data)}

## Downloads

${downloads(data)}

## Files

${files.map((f) => `- [${f}](${f})`).join('\n')}
`;
}
