// `#/figure?probes=<id>,<id>,…` (option `&from=chance`): the papers' figure, SR per layer and
// layer SNR per layer for several probes overlaid, with the replicates' spread as error bars and
// each full network's test SR as a line; and the same numbers as CSV.

import { gql } from '../api.js';
import { seriesColor } from '../curve-controls.js';
import { crumbs, errorBox, h, href, replace } from '../dom.js';
import { layerChart } from '../layer-chart.js';
import { figureHref, pickedProbes } from '../picks.js';
import { runNumber, runTitle } from './runs.js';

const PROBE = `query FigureProbe($id: ID!) {
  probe(id: $id) {
    id status createdAt
    run { id name dataset finalTestSR architecture { name labels } }
    layers { layerName successRate snr replicates { replicates successRate { mean std } snr { mean std } } }
  }
}`;

const COLUMNS = [
  'probe',
  'run',
  'name',
  'architecture',
  'dataset',
  'layer',
  'depth',
  'successRate',
  'successRateStd',
  'snr',
  'snrStd',
  'replicates',
  'networkTestSR',
];

/** The figure's numbers, one row per probed layer, as RFC 4180 CSV. */
export function figureCsv(probes) {
  const cell = (v) => {
    const text = v === null || v === undefined ? '' : String(v);
    return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  const rows = probes.flatMap((p) =>
    p.layers.map((l, i) => [
      p.id,
      p.run.id,
      p.run.name,
      p.run.architecture.name,
      p.run.dataset,
      l.layerName,
      i + 1,
      l.successRate,
      l.replicates?.successRate.std,
      l.snr,
      l.replicates?.snr.std,
      l.replicates?.replicates,
      p.run.finalTestSR,
    ]),
  );
  return [COLUMNS, ...rows].map((r) => r.map(cell).join(',')).join('\n') + '\n';
}

const probeName = (p) => `${runNumber(p.run.id)} ${runTitle(p.run)}`;

export async function figureView(ctx) {
  const ids = (ctx.query.get('probes') ?? '').split(',').filter(Boolean);
  const fromChance = ctx.query.get('from') === 'chance';
  const found = await Promise.all(ids.map((id) => gql(PROBE, { id })));
  if (ctx.disposed) return;
  const probes = found.map((r) => r.probe).filter(Boolean);
  const missing = ids.filter((_, i) => !found[i].probe);
  ids.forEach((id) => pickedProbes.add(id));
  const chance = Math.min(...probes.map((p) => 1 / p.run.architecture.labels), 1);
  const series = (field, std, reference) =>
    probes.map((p, i) => ({
      key: p.id,
      name: probeName(p),
      color: seriesColor(i),
      reference: reference ? p.run.finalTestSR : null,
      points: p.layers.map((l, i) => ({
        x: i + 1,
        layer: l.layerName,
        value: l[field],
        std: l.replicates?.[std].std ?? null,
      })),
    }));
  const longest = probes.reduce(
    (a, p) => (p.layers.length > (a?.layers.length ?? 0) ? p : a),
    null,
  );
  const csv = figureCsv(probes);
  const base = figureHref(ids);
  replace(
    ctx.root,
    crumbs('SR and SNR per layer'),
    h('h1', null, `SR and layer SNR per layer, ${probes.length} probes`),
    missing.length
      ? errorBox({ code: 'NOT_FOUND', message: `no probe with id ${missing.join(', ')}` })
      : null,
    probes.length === 0
      ? h('p', { class: 'muted' }, 'Tick probes on run pages, then open this figure.')
      : null,
    h(
      'p',
      { class: 'curve-controls' },
      'SR axis from ',
      fromChance
        ? [
            h('a', { href: base, 'data-testid': 'from-zero' }, '0'),
            ' | ',
            h('strong', null, `chance (${Math.round(chance * 1000) / 10}%)`),
          ]
        : [
            h('strong', null, '0'),
            ' | ',
            h('a', { href: `${base}&from=chance`, 'data-testid': 'from-chance' }, 'chance'),
          ],
      ' · ',
      h(
        'a',
        {
          href: `data:text/csv;charset=utf-8,${encodeURIComponent(csv)}`,
          download: 'sr-per-layer.csv',
          'data-testid': 'figure-csv',
        },
        'Download these numbers (CSV)',
      ),
    ),
    h(
      'div',
      { class: 'charts' },
      layerChart({
        title: 'SR per layer (dashed: the full network’s test SR)',
        testid: 'figure-sr',
        quantity: 'SR',
        percent: true,
        yFrom: fromChance ? chance : 0,
        yMax: 1,
        xNames: longest?.layers.map((l) => l.layerName),
        series: series('successRate', 'successRate', true),
      }),
      layerChart({
        title: 'Layer SNR per layer',
        testid: 'figure-snr',
        quantity: 'layer SNR',
        percent: false,
        yFrom: 0,
        xNames: longest?.layers.map((l) => l.layerName),
        series: series('snr', 'snr', false),
      }),
    ),
    h(
      'p',
      { class: 'muted' },
      'Points are the mean over each probe’s replicate heads, bars one standard deviation either way. Layers:',
    ),
    h(
      'ul',
      { class: 'plain' },
      probes.map((p, i) =>
        h(
          'li',
          null,
          h('span', { class: 'swatch', style: `background:${seriesColor(i)}` }),
          ' ',
          h('a', { href: href('probes', p.id) }, probeName(p)),
          `: ${p.layers.map((l, i) => `${i + 1} ${l.layerName}`).join(', ')}`,
        ),
      ),
    ),
  );
}
