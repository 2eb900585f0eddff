// `#/probes/<id>/layers/<name>`: a probed layer's filters as a grid of correlation heatmaps,
// highest SNR first, silent filters marked.

import { gql, serverDefaults, subscribeEvents } from '../api.js';
import {
  crumbs,
  debounce,
  errorBox,
  facts,
  h,
  href,
  num,
  pct,
  replace,
  runLink,
  snrText,
} from '../dom.js';

const LAYERS = `query ProbeLayers($id: ID!) {
  probe(id: $id) {
    id status run { id dataset architecture { name labels } }
    layers { id layerName complete successRate snr meanNoise meanClusterSize meanClustersPerFilter silentFilters layer { filters } }
  }
}`;
const FILTERS = `query LayerFilters($id: ID!, $first: Int, $after: String, $threshold: Float!, $normalization: Normalization!, $minScale: Float!) {
  node(id: $id) {
    ... on LayerProbe {
      filters(orderBy: SNR_DESC, first: $first, after: $after, threshold: $threshold, normalization: $normalization, minScale: $minScale) {
        totalCount
        pageInfo { hasNextPage endCursor }
        nodes {
          id index snr signal noise noiseFree silent scale preferredLabel
          clusters { names }
          correlation { svg labels }
        }
      }
    }
  }
}`;
const PROGRESS = `subscription ProbeProgress($probeId: ID!, $afterSequence: Int) {
  probeProgress(probeId: $probeId, afterSequence: $afterSequence) { sequence type status layer }
}`;

/** Heatmap SVGs are many kB for many labels: fetch fewer of them per page as C grows. */
const pageSize = (labels) => (labels <= 20 ? 100 : labels <= 50 ? 24 : 8);

/** The server's standalone SVG as an image: isolated from the page (its ids, its styles). */
const svgImage = (svg, alt) =>
  h('img', {
    class: 'heatmap',
    src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`,
    alt,
    'data-testid': 'heatmap',
  });

function card(filter, rank) {
  const labels = filter.correlation.labels;
  const clusters = filter.clusters.length
    ? filter.clusters.map((c) => `{${c.names.join(', ')}}`).join(' ')
    : 'no cluster';
  return h(
    'a',
    {
      class: `filter-card${filter.silent ? ' silent' : ''}`,
      href: href('filters', filter.id),
      'data-testid': 'filter-card',
      'data-filter-id': filter.id,
      'data-index': filter.index,
      'data-snr': filter.snr === null ? '' : String(filter.snr),
      'data-silent': String(filter.silent),
      title: filter.silent
        ? `filter ${filter.index} is silent (scale ${num(filter.scale)} below minScale)`
        : `filter ${filter.index}`,
    },
    h(
      'div',
      { class: 'filter-card-head' },
      h('span', { class: 'rank' }, `#${rank}`),
      h('strong', null, `filter ${filter.index}`),
      filter.silent
        ? h('span', { class: 'badge status-silent', 'data-testid': 'silent-badge' }, 'silent')
        : null,
    ),
    svgImage(filter.correlation.svg, `correlation matrix of filter ${filter.index}`),
    h(
      'div',
      { class: 'filter-card-metrics' },
      h('span', null, 'SNR ', h('strong', { 'data-testid': 'card-snr' }, snrText(filter))),
      h('span', null, `signal ${filter.signal}, noise ${filter.noise}`),
      h('span', null, `prefers ${labels[filter.preferredLabel] ?? filter.preferredLabel}`),
      h('span', { class: 'clusters' }, clusters),
    ),
  );
}

/** The metric parameters from the page's `?threshold=&normalization=&minScale=`, else the server's. */
function metricOptions(query, defaults) {
  const number = (name) => {
    const value = Number(query.get(name));
    return query.has(name) && Number.isFinite(value) ? value : defaults[name];
  };
  const normalization = query.get('normalization');
  return {
    threshold: number('threshold'),
    minScale: number('minScale'),
    normalization: ['COLUMN_CENTERED', 'MAX', 'NONE'].includes(normalization)
      ? normalization
      : defaults.normalization,
  };
}

/** The three parameters as a form; applying it changes the address, so the view has a link. */
function optionsForm(options, base) {
  const field = (label, input) => h('label', null, label, input);
  const threshold = h('input', {
    type: 'number',
    name: 'threshold',
    step: 'any',
    min: '0',
    max: '1',
    value: options.threshold,
    'data-testid': 'opt-threshold',
  });
  const minScale = h('input', {
    type: 'number',
    name: 'minScale',
    step: 'any',
    min: '0',
    max: '1',
    value: options.minScale,
    'data-testid': 'opt-min-scale',
  });
  const normalization = h(
    'select',
    { name: 'normalization', 'data-testid': 'opt-normalization' },
    ['COLUMN_CENTERED', 'MAX', 'NONE'].map((n) =>
      h('option', { value: n, selected: n === options.normalization }, n),
    ),
  );
  return h(
    'form',
    {
      class: 'options',
      'data-testid': 'metric-options',
      onsubmit: (event) => {
        event.preventDefault();
        const query = new URLSearchParams({
          threshold: threshold.value,
          normalization: normalization.value,
          minScale: minScale.value,
        });
        location.hash = `${base}?${query}`;
      },
    },
    field('threshold ', threshold),
    field('normalization ', normalization),
    field('minScale ', minScale),
    h('button', { type: 'submit', 'data-testid': 'opt-apply' }, 'Apply'),
    h('a', { href: base }, 'defaults'),
    h(
      'span',
      { class: 'muted' },
      'These change the values shown; the order is always by the SNR stored for the defaults.',
    ),
  );
}

export async function layerView(ctx, probeId, layerName) {
  const [{ probe }, defaults] = await Promise.all([gql(LAYERS, { id: probeId }), serverDefaults()]);
  const options = metricOptions(ctx.query, defaults);
  const final = defaults.final;
  if (ctx.disposed) return;
  const layer = probe?.layers.find((l) => l.layerName === layerName);
  if (!probe || !layer) {
    const message = probe
      ? `probe ${probeId} has no layer ${layerName}`
      : `no probe with id ${probeId}`;
    replace(ctx.root, h('h1', null, 'Layer'), errorBox({ code: 'NOT_FOUND', message }));
    return;
  }
  const names = probe.layers.map((l) => l.layerName);
  const position = names.indexOf(layerName);
  const neighbour = (i) =>
    names[i] ? h('a', { href: href('probes', probeId, 'layers', names[i]) }, names[i]) : null;

  const grid = h('div', { class: 'grid', 'data-testid': 'filter-grid' });
  const summary = h('p', { class: 'muted', 'data-testid': 'grid-summary' });
  const more = h('button', { type: 'button', hidden: true }, 'Load more');
  const errors = h('div');
  replace(
    ctx.root,
    crumbs(
      runLink(probe.run),
      h('a', { href: href('probes', probeId), 'data-testid': 'probe-link' }, 'probe'),
      layerName,
    ),
    h('h1', null, `${layerName}: filters by SNR`),
    h(
      'p',
      { class: 'neighbours' },
      neighbour(position - 1) ? ['← ', neighbour(position - 1), ' '] : null,
      neighbour(position + 1) ? [neighbour(position + 1), ' →'] : null,
    ),
    facts(
      [
        ['SR', pct(layer.successRate)],
        ['Layer SNR', num(layer.snr)],
        ['Mean noise / filter', num(layer.meanNoise)],
        ['Mean cluster size', num(layer.meanClusterSize)],
        ['Clusters / filter', num(layer.meanClustersPerFilter)],
        ['Silent filters', layer.silentFilters ?? '–'],
      ],
      { class: 'facts inline' },
    ),
    h(
      'p',
      { class: 'muted' },
      'Each heatmap is a filter’s correlation matrix: input labels (rows) against the output fields averaged over each label’s test images (columns); red above 0, blue below. Silent filters (too weak to count in the layer’s aggregates) are greyed out.',
    ),
    optionsForm(options, href('probes', probeId, 'layers', layerName)),
    errors,
    grid,
    summary,
    more,
  );

  const first = pageSize(probe.run.architecture.labels);
  let shown = 0;
  async function load(after) {
    const { node } = await gql(FILTERS, { id: layer.id, first, after, ...options });
    if (ctx.disposed || !node) return;
    const page = node.filters;
    if (!after) {
      grid.replaceChildren();
      shown = 0;
    }
    grid.append(...page.nodes.map((f, i) => card(f, shown + i + 1)));
    shown += page.nodes.length;
    summary.textContent = `${shown} of ${page.totalCount} filters stored${layer.complete ? '' : ' so far'} (layer has ${layer.layer.filters}).`;
    more.hidden = !page.pageInfo.hasNextPage;
    more.onclick = () =>
      load(page.pageInfo.endCursor).catch((error) => errors.replaceChildren(errorBox(error)));
  }
  await load();

  // While this layer is being probed, reload as its filters are stored.
  if (layer.complete || final.has(probe.status)) return;
  const reload = debounce(
    () => load().catch((error) => errors.replaceChildren(errorBox(error))),
    500,
  );
  ctx.onDispose(reload.cancel);
  ctx.onDispose(
    subscribeEvents(
      PROGRESS,
      { probeId, afterSequence: 0 },
      {
        onEvent: (event) => {
          if (
            event.layer === layerName &&
            (event.type === 'FILTERS' || event.type === 'LAYER_DONE')
          ) {
            if (event.type === 'LAYER_DONE') layer.complete = true;
            reload();
          }
        },
        onError: (error) => errors.replaceChildren(errorBox(error)),
      },
    ),
  );
}
