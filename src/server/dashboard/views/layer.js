// `#/probes/<id>/layers/<name>`: a probed layer's filters as a grid of heatmaps, highest SNR
// first and silent filters last (or hidden), on one colour scale for the layer (or the API's
// heatmap per filter), in pages, searchable by a label in the filters' clusters.

import { gql, serverDefaults, subscribeEvents } from '../api.js';
import { crumbs, debounce, errorBox, facts, h, href, num, pct, replace, runLink } from '../dom.js';
import { layerMax, scaleLegend } from '../heatmap-thumb.js';
import { card, exportLinks, gridControls } from './layer-cards.js';
import { metricOptions, optionsForm } from './layer-options.js';

const LAYERS = `query ProbeLayers($id: ID!) {
  probe(id: $id) {
    id status run { id name dataset architecture { name labels } }
    layers { id layerName complete successRate snr meanNoise meanClusterSize meanClustersPerFilter silentFilters layer { filters } }
  }
}`;
const FILTERS = `query LayerFilters($id: ID!, $first: Int, $after: String, $threshold: Float!, $normalization: Normalization!, $minScale: Float!, $silent: Boolean, $clusterLabel: String, $svg: Boolean!) {
  node(id: $id) {
    ... on LayerProbe {
      filters(orderBy: SNR_DESC, first: $first, after: $after, threshold: $threshold, normalization: $normalization, minScale: $minScale, silent: $silent, clusterLabel: $clusterLabel) {
        totalCount
        pageInfo { hasNextPage endCursor }
        nodes {
          id index snr signal noise noiseFree silent scale preferredLabel ablation
          clusters { names }
          correlation { labels rows svg @include(if: $svg) }
        }
      }
    }
  }
}`;
const PROGRESS = `subscription ProbeProgress($probeId: ID!, $afterSequence: Int) {
  probeProgress(probeId: $probeId, afterSequence: $afterSequence) { sequence type status layer }
}`;

/** Heatmaps are many kB for many labels: fewer of them per page as C grows. */
const pageSize = (labels) => (labels <= 20 ? 48 : labels <= 50 ? 24 : 8);

/** The offset cursor of position `n` (the API's `cursor:<n>`, base64url). */
const cursorAt = (n) =>
  n > 0 ? btoa(`cursor:${n}`).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '') : null;

export async function layerView(ctx, probeId, layerName) {
  const [{ probe }, defaults] = await Promise.all([gql(LAYERS, { id: probeId }), serverDefaults()]);
  const options = metricOptions(ctx.query, defaults);
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
  const state = { shared: true, hideSilent: false, label: null, page: 0, labelNames: [] };

  const grid = h('div', { class: 'grid', 'data-testid': 'filter-grid' });
  const summary = h('p', { class: 'muted', 'data-testid': 'grid-summary' });
  const pager = h('div', { class: 'pager', 'data-testid': 'pager' });
  const controls = h('div');
  const key = h('div', { class: 'label-key', 'data-testid': 'label-key' });
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
      'Each heatmap is a filter’s correlation matrix: input labels (rows) against the output fields averaged over each label’s test images (columns); red above 0, blue below. Silent filters (too weak to count in the layer’s aggregates) are greyed out and come last.',
    ),
    optionsForm(options, href('probes', probeId, 'layers', layerName)),
    exportLinks(probeId, (error) => errors.replaceChildren(errorBox(error))),
    controls,
    key,
    errors,
    pager,
    grid,
    summary,
  );

  // `?pageSize=N` (1-200) overrides the size picked from the label count.
  const asked = Number(ctx.query.get('pageSize'));
  const first =
    Number.isInteger(asked) && asked >= 1 && asked <= 200
      ? asked
      : pageSize(probe.run.architecture.labels);
  let generation = 0;
  async function load() {
    const mine = ++generation;
    const { node } = await gql(FILTERS, {
      id: layer.id,
      first,
      after: cursorAt(state.page * first),
      ...options,
      silent: state.hideSilent ? false : null,
      clusterLabel: state.label,
      svg: !state.shared,
    });
    if (ctx.disposed || !node || mine !== generation) return;
    const page = node.filters;
    const labelNames = page.nodes[0]?.correlation.labels;
    if (labelNames && state.labelNames.length === 0) {
      state.labelNames = labelNames;
      replace(controls, gridControls(state, labelNames, restart));
    }
    const shared = state.shared ? layerMax(page.nodes) : null;
    grid.replaceChildren(
      ...page.nodes.map((f, i) =>
        card(f, state.page * first + i + 1, shared ?? (state.shared ? 1 : null)),
      ),
    );
    grid.dataset.scale = state.shared ? 'shared' : 'filter';
    replace(
      key,
      state.shared && shared !== null
        ? [
            scaleLegend(shared),
            h('span', { class: 'muted' }, ' one scale for every filter of this layer; '),
          ]
        : null,
      h('span', { class: 'muted' }, 'labels: '),
      state.labelNames.map((n, i) => h('span', { class: 'label-name' }, `${i} ${n}`)),
    );
    const pages = Math.max(1, Math.ceil(page.totalCount / first));
    replace(
      pager,
      h(
        'button',
        {
          type: 'button',
          disabled: state.page === 0,
          'data-testid': 'page-prev',
          onclick: () => go(state.page - 1),
        },
        '← Previous',
      ),
      h('span', { 'data-testid': 'page-number' }, ` page ${state.page + 1} of ${pages} `),
      h(
        'button',
        {
          type: 'button',
          disabled: !page.pageInfo.hasNextPage,
          'data-testid': 'page-next',
          onclick: () => go(state.page + 1),
        },
        'Next →',
      ),
    );
    summary.textContent = `${page.totalCount} filters${state.label ? ` with ${state.label} in a cluster` : ''}${state.hideSilent ? ', silent ones hidden' : ''}${layer.complete ? '' : ' stored so far'} (the layer has ${layer.layer.filters}).`;
    summary.dataset.total = String(page.totalCount);
  }
  const showError = (error) => errors.replaceChildren(errorBox(error));
  const go = (n) => {
    state.page = n;
    load().catch(showError);
  };
  function restart() {
    go(0);
  }
  await load();

  // While this layer is being probed, reload as its filters are stored.
  if (layer.complete || defaults.final.has(probe.status)) return;
  const reload = debounce(() => load().catch(showError), 500);
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
        onError: showError,
      },
    ),
  );
}
