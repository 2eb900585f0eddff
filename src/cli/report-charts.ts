import type { LayerDetails } from './operations.js';
import type { ReportData } from './report-data.js';
import { lineChart, type Series } from './svg-charts.js';

/**
 * The report's charts, one quantity per y axis: success rates from 0 to 1 with chance (1/C)
 * drawn, counts from 0, and the replicate heads' standard deviation as error bars where the probe
 * has more than one replicate.
 */

/** A layer's spread for one aggregate: its standard deviation, or null with one replicate. */
type SpreadKey = 'successRate' | 'snr' | 'meanNoise' | 'meanClustersPerFilter';
const std = (l: LayerDetails, key: SpreadKey): number | null =>
  l.replicates && l.replicates.replicates > 1 ? l.replicates[key].std : null;

/** The charts' file names and what each shows (the README lists them). */
export const CHARTS = {
  'training-loss.svg': 'phase 1: train and test loss per epoch',
  'training-sr.svg': 'phase 1: train and test SR per epoch (0 to 1, chance marked)',
  'sr-per-layer.svg':
    "phase 2: SR of a readout per conv layer (0 to 1), the network's test SR and chance, replicate std as error bars",
  'snr-per-layer.svg': 'phase 3: layer SNR per conv layer, replicate std as error bars',
  'noise-per-layer.svg': 'phase 3: mean noise (marks outside clusters) per filter, per layer',
  'clusters-per-layer.svg': 'phase 3: mean clusters per filter, per layer',
  'silent-filters-per-layer.svg': "phase 3: silent filters per layer, beside the layer's filters",
  'head-training.svg': "phase 2: each layer head's test SR per head epoch (0 to 1)",
} as const;

function chance(labels: number, xs: readonly number[]): Series {
  return { name: `chance (1/${labels})`, points: xs.map((x) => [x, 1 / labels]), dashed: true };
}

/** Phase 1's loss and SR per epoch (a run trained here). */
function trainingCharts(data: ReportData): Record<string, string> {
  const m = data.run.metrics;
  const epochs = m.map((e) => e.epoch);
  return {
    'training-loss.svg': lineChart({
      title: 'Phase 1: loss per epoch',
      xLabel: 'epoch',
      yLabel: 'cross-entropy loss',
      yMin: 0,
      series: [
        { name: 'train', points: m.map((e) => [e.epoch, e.trainLoss]) },
        { name: 'test', points: m.map((e) => [e.epoch, e.testLoss]), dashed: true },
      ],
    }),
    'training-sr.svg': lineChart({
      title: 'Phase 1: success rate per epoch',
      xLabel: 'epoch',
      yLabel: 'SR',
      yMin: 0,
      yMax: 1,
      series: [
        { name: 'train', points: m.map((e) => [e.epoch, e.trainSR]) },
        { name: 'test', points: m.map((e) => [e.epoch, e.testSR]), dashed: true },
        chance(data.run.architecture.labels, epochs),
      ],
    }),
  };
}

/** One aggregate per layer, from 0, with its replicate spread. */
function perLayer(
  data: ReportData,
  file: string,
  title: string,
  yLabel: string,
  value: (l: LayerDetails) => number | null,
  spread: SpreadKey,
): Record<string, string> {
  const layers = data.probe.layers;
  return {
    [file]: lineChart({
      title,
      xLabel: 'layer',
      yLabel,
      yMin: 0,
      xTicks: layers.map((l, i) => ({ value: i + 1, label: l.layerName })),
      series: [
        {
          name: yLabel,
          points: layers.map((l, i) => [i + 1, value(l)]),
          errors: layers.map((l) => std(l, spread)),
        },
      ],
    }),
  };
}

export function reportCharts(data: ReportData): Record<string, string> {
  const layers = data.probe.layers;
  const xs = layers.map((_, i) => i + 1);
  const xTicks = layers.map((l, i) => ({ value: i + 1, label: l.layerName }));
  const replicates = layers[0]?.replicates?.replicates ?? 1;
  const spread = replicates > 1 ? ` (mean ± std of ${replicates} heads)` : '';
  return {
    ...(data.run.origin === 'IMPORTED' ? {} : trainingCharts(data)),
    'sr-per-layer.svg': lineChart({
      title: `Phase 2: SR of a readout per conv layer${spread}`,
      xLabel: 'layer',
      yLabel: 'SR',
      yMin: 0,
      yMax: 1,
      xTicks,
      series: [
        {
          name: 'SR(layer)',
          points: layers.map((l, i) => [i + 1, l.successRate]),
          errors: layers.map((l) => std(l, 'successRate')),
        },
        { name: 'network test SR', points: xs.map((x) => [x, data.run.finalTestSR]) },
        chance(data.run.architecture.labels, xs),
      ],
    }),
    ...perLayer(
      data,
      'snr-per-layer.svg',
      `Phase 3: layer SNR${spread}`,
      'layer SNR',
      (l) => l.snr,
      'snr',
    ),
    ...perLayer(
      data,
      'noise-per-layer.svg',
      `Phase 3: noise per filter${spread}`,
      'noise / filter',
      (l) => l.meanNoise,
      'meanNoise',
    ),
    ...perLayer(
      data,
      'clusters-per-layer.svg',
      `Phase 3: clusters per filter${spread}`,
      'clusters / filter',
      (l) => l.meanClustersPerFilter,
      'meanClustersPerFilter',
    ),
    'silent-filters-per-layer.svg': lineChart({
      title: 'Phase 3: silent filters per layer (scale < minScale)',
      xLabel: 'layer',
      yLabel: 'filters',
      yMin: 0,
      integerY: true,
      xTicks,
      series: [
        {
          name: 'silent',
          points: layers.map((l, i) => [i + 1, l.silentFilters]),
        },
        {
          name: 'all filters',
          points: layers.map((l, i) => [i + 1, data.filters.get(l.layerName)?.length ?? null]),
          dashed: true,
        },
      ],
    }),
    'head-training.svg': lineChart({
      title: 'Phase 2: head test SR per head epoch',
      xLabel: 'head epoch',
      yLabel: 'SR',
      yMin: 0,
      yMax: 1,
      series: layers.map((l) => ({
        name: l.layerName,
        points: l.history.map((h) => [h.epoch, h.testSR] as const),
      })),
    }),
  };
}
