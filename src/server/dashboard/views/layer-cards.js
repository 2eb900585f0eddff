// The pieces of a layer's page: a filter's card (shared-scale heatmap or the API's), the grid's
// toggles, and the links to the probe's filter exports.

import { download } from '../api.js';
import { h, href, num, snrText } from '../dom.js';
import { heatmapThumb, maxAbs } from '../heatmap-thumb.js';

/** The server's standalone SVG as an image: isolated from the page (its ids, its styles). */
const svgImage = (svg, alt, scaleMax) =>
  h('img', {
    class: 'heatmap',
    src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`,
    alt,
    'data-testid': 'heatmap',
    'data-scale-max': String(scaleMax),
  });

export function card(filter, rank, shared) {
  const labels = filter.correlation.labels;
  const clusters = filter.clusters.length
    ? filter.clusters.map((c) => `{${c.names.join(', ')}}`).join(' ')
    : 'no cluster';
  const title = `filter ${filter.index}`;
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
        ? `${title} is silent (scale ${num(filter.scale)} below minScale)`
        : title,
    },
    h(
      'div',
      { class: 'filter-card-head' },
      h('span', { class: 'rank' }, `#${rank}`),
      h('strong', null, title),
      filter.silent
        ? h('span', { class: 'badge status-silent', 'data-testid': 'silent-badge' }, 'silent')
        : null,
    ),
    shared === null
      ? svgImage(
          filter.correlation.svg,
          `correlation matrix of ${title}`,
          maxAbs(filter.correlation.rows),
        )
      : heatmapThumb(filter.correlation.rows, labels, shared, `correlation matrix of ${title}`),
    h(
      'div',
      { class: 'filter-card-metrics' },
      h(
        'span',
        null,
        'SNR ',
        h('strong', { 'data-testid': 'card-snr' }, snrText(filter)),
        ' · ablation ',
        h('strong', { 'data-testid': 'card-ablation' }, `${num(filter.ablation * 100, 3)} pts`),
      ),
      h(
        'span',
        null,
        `signal ${filter.signal}, noise ${filter.noise}, scale ${num(filter.scale, 2)}`,
      ),
      h('span', null, `prefers ${labels[filter.preferredLabel] ?? filter.preferredLabel}`),
      h('span', { class: 'clusters' }, clusters),
    ),
  );
}

/** The probe's filter exports (every layer), downloaded with the stored key. */
export function exportLinks(probeId, onError) {
  const link = (file, label) =>
    h(
      'a',
      {
        href: `/export/probes/${encodeURIComponent(probeId)}/${file}`,
        'data-testid': `download-${file.replace('.', '-')}`,
        onclick: (event) => {
          event.preventDefault();
          download(`/export/probes/${encodeURIComponent(probeId)}/${file}`, `probe-${file}`).catch(
            onError,
          );
        },
      },
      label,
    );
  return h(
    'p',
    { class: 'muted' },
    'Download every probed layer’s filters: ',
    link('filters.csv', 'metrics (CSV)'),
    ', ',
    link('filters.json', 'with their matrices (JSON)'),
    '.',
  );
}

/** The grid's toggles: colour scale, silent filters, a label to search the clusters for. */
export function gridControls(state, names, onChange) {
  const scale = h(
    'select',
    {
      'data-testid': 'scale-mode',
      onchange: () => ((state.shared = scale.value === 'shared'), onChange()),
    },
    h(
      'option',
      { value: 'shared', selected: state.shared },
      'one colour scale for the layer (raw values)',
    ),
    h('option', { value: 'filter', selected: !state.shared }, 'per filter (the API’s heatmap)'),
  );
  const hide = h('input', {
    type: 'checkbox',
    checked: state.hideSilent,
    'data-testid': 'hide-silent',
    onchange: () => ((state.hideSilent = hide.checked), onChange()),
  });
  const label = h(
    'select',
    {
      'data-testid': 'label-search',
      onchange: () => ((state.label = label.value || null), onChange()),
    },
    h('option', { value: '' }, 'any label'),
    names.map((name, i) =>
      h('option', { value: name, selected: state.label === name }, `${i} ${name}`),
    ),
  );
  return h(
    'div',
    { class: 'curve-controls', 'data-testid': 'grid-controls' },
    h('label', null, 'Colours: ', scale),
    h('label', null, hide, ' hide silent filters'),
    h('label', null, 'Clusters holding ', label),
  );
}
