// `#/filters/<id>`: one filter's correlation matrix, large, with its clusters and metrics.

import { gql } from '../api.js';
import { crumbs, errorBox, facts, h, href, num, pct, replace, runLink, snrText } from '../dom.js';

const NEIGHBOURS = `query FilterNeighbours($id: ID!, $after: String) {
  node(id: $id) { ... on LayerProbe { filters(orderBy: INDEX, first: 3, after: $after) { nodes { id index } } } }
}`;

/** The offset cursor of position `n` (the API's `cursor:<n>`, base64url); null for 0. */
const cursorAt = (n) =>
  n > 0 ? btoa(`cursor:${n}`).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '') : null;

/** Links to the filters before and after `filter` in index order (those that exist). */
async function neighbours(filter) {
  const { node } = await gql(NEIGHBOURS, {
    id: filter.layer.id,
    after: cursorAt(filter.index - 1),
  });
  const nodes = node?.filters.nodes ?? [];
  const at = (index, text, testid) => {
    const f = nodes.find((n) => n.index === index);
    return f
      ? h(
          'a',
          {
            href: href('filters', f.id),
            'data-testid': testid,
            rel: testid === 'filter-prev' ? 'prev' : 'next',
          },
          text,
        )
      : null;
  };
  return h(
    'p',
    { class: 'neighbours' },
    at(filter.index - 1, `← filter ${filter.index - 1}`, 'filter-prev'),
    ' ',
    at(filter.index + 1, `filter ${filter.index + 1} →`, 'filter-next'),
  );
}

const MATRIX_CAPTIONS = {
  normalized:
    'The normalised matrix that the SNR counts: a dot on each mark, an outline around each cluster. Input (true) labels as rows, output fields averaged over each label’s test images as columns.',
  raw: 'The raw matrix: input (true) labels as rows against the output fields averaged over each label’s test images (columns); blue below 0, red above.',
};

const RAW_MATRIX = `query RawMatrix($id: ID!) {
  node(id: $id) { ... on FilterResult { correlation { svg(view: RAW) } } }
}`;

/** The filter's heatmap, normalised with its marks and clusters; the raw one fetched on request. */
function matrixFigure(filterId, correlation) {
  const views = { normalized: inlineSvg(correlation.svg), raw: null };
  const holder = h(
    'div',
    { 'data-testid': 'matrix-view', 'data-view': 'normalized' },
    views.normalized,
  );
  const caption = h('figcaption', { class: 'muted' }, MATRIX_CAPTIONS.normalized);
  const show = async (view) => {
    if (view === 'raw' && !views.raw) {
      const { node } = await gql(RAW_MATRIX, { id: filterId });
      views.raw = inlineSvg(node.correlation.svg);
    }
    holder.setAttribute('data-view', view);
    replace(holder, views[view]);
    replace(caption, MATRIX_CAPTIONS[view]);
  };
  const toggle = h(
    'label',
    { class: 'matrix-toggle' },
    h('input', {
      type: 'checkbox',
      'data-testid': 'matrix-raw',
      onchange: (event) => show(event.target.checked ? 'raw' : 'normalized'),
    }),
    ' raw matrix',
  );
  return h('figure', { class: 'card matrix-figure' }, toggle, holder, caption);
}

const FILTER = `query Filter($id: ID!) {
  node(id: $id) {
    ... on FilterResult {
      id index snr signal noise noiseFree silent scale preference preferredLabel ablation
      clusters { labels names }
      correlation { svg labels size rows }
      layer { id layerName successRate layer { filters } probe { id run { id name dataset architecture { name } } } }
    }
  }
}`;

/**
 * The server's heatmap as inline SVG, scalable with CSS. It is our own server's output, but it is
 * parsed as XML (never as HTML) and stripped of scripts and handlers all the same.
 */
function inlineSvg(text) {
  const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
  const root = doc.documentElement;
  if (root.nodeName !== 'svg') throw new Error('the correlation matrix is not a valid SVG');
  root.querySelectorAll('script, foreignObject').forEach((el) => el.remove());
  for (const el of [root, ...root.querySelectorAll('*')]) {
    for (const attr of [...el.attributes])
      if (attr.name.startsWith('on')) el.removeAttribute(attr.name);
  }
  root.removeAttribute('width');
  root.removeAttribute('height');
  root.setAttribute('class', 'matrix');
  root.setAttribute('data-testid', 'matrix');
  return document.importNode(root, true);
}

function valuesTable(correlation) {
  const { labels, rows } = correlation;
  return h(
    'table',
    { class: 'table matrix-values' },
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        h('th', null, 'input ↓ / output →'),
        labels.map((l) => h('th', null, l)),
      ),
    ),
    h(
      'tbody',
      null,
      rows.map((row, i) =>
        h(
          'tr',
          null,
          h('th', null, labels[i]),
          row.map((v) => h('td', { class: 'number' }, num(v, 3))),
        ),
      ),
    ),
  );
}

export async function filterView(ctx, id) {
  const { node: filter } = await gql(FILTER, { id });
  if (ctx.disposed) return;
  if (!filter || filter.index === undefined) {
    replace(
      ctx.root,
      h('h1', null, 'Filter'),
      errorBox({ code: 'NOT_FOUND', message: `no filter result with id ${id}` }),
    );
    return;
  }
  const { layer } = filter;
  const around = await neighbours(filter);
  if (ctx.disposed) return;
  const { probe } = layer;
  const labels = filter.correlation.labels;
  const count = filter.clusters.length;
  const clusters = count
    ? [
        h(
          'p',
          { class: 'muted' },
          `${count} ${count === 1 ? 'cluster' : 'clusters'}: labels this filter singles out together.`,
        ),
        h(
          'ul',
          { class: 'chips', 'data-testid': 'clusters' },
          filter.clusters.map((c) =>
            h(
              'li',
              { class: 'chip', 'data-testid': 'cluster', 'data-labels': c.labels.join(',') },
              c.names.join(' + '),
            ),
          ),
        ),
      ]
    : h(
        'p',
        { class: 'muted', 'data-testid': 'clusters' },
        'No cluster: no label has its diagonal mark at the default threshold.',
      );

  replace(
    ctx.root,
    crumbs(
      runLink(probe.run),
      h('a', { href: href('probes', probe.id) }, 'probe'),
      h(
        'a',
        { href: href('probes', probe.id, 'layers', layer.layerName), 'data-testid': 'layer-link' },
        layer.layerName,
      ),
      `filter ${filter.index}`,
    ),
    h(
      'h1',
      null,
      `${layer.layerName}, filter ${filter.index} of ${layer.layer.filters} `,
      filter.silent
        ? h('span', { class: 'badge status-silent', 'data-testid': 'silent-badge' }, 'silent')
        : null,
    ),
    around,
    h(
      'div',
      { class: 'filter-page' },
      matrixFigure(filter.id, filter.correlation),
      h(
        'div',
        null,
        h('section', { class: 'card' }, h('h2', null, 'Clusters'), clusters),
        h(
          'section',
          { class: 'card' },
          h('h2', null, 'Labels'),
          h(
            'ol',
            { class: 'label-list', start: '0', 'data-testid': 'label-names' },
            labels.map((name) => h('li', null, name)),
          ),
        ),
        h(
          'section',
          { class: 'card' },
          h('h2', null, 'Metrics'),
          facts(
            [
              ['SNR', snrText(filter), 'filter-snr'],
              [
                'Ablation (SR drop without it)',
                `${num(filter.ablation * 100, 3)} points`,
                'filter-ablation',
              ],
              ['Signal (marks inside clusters)', filter.signal, 'filter-signal'],
              ['Noise (marks outside)', filter.noise, 'filter-noise'],
              [
                'Preferred label',
                `${labels[filter.preferredLabel] ?? filter.preferredLabel} (in ${pct(filter.preference, 0)} of rows)`,
              ],
              [
                'Scale',
                `${num(filter.scale)}${filter.silent ? ' — silent, left out of the layer aggregates' : ''}`,
              ],
              ['Layer SR', pct(layer.successRate)],
            ],
            { 'data-testid': 'filter-metrics' },
          ),
        ),
      ),
    ),
    filter.correlation.size <= 20
      ? h(
          'details',
          { class: 'card' },
          h('summary', null, 'Raw values'),
          valuesTable(filter.correlation),
        )
      : null,
  );
}
