// The metric parameters of a layer's page (threshold, normalization, minScale) and their form.

import { h } from '../dom.js';

/** The metric parameters from the page's `?threshold=&normalization=&minScale=`, else the server's. */
export function metricOptions(query, defaults) {
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
export function optionsForm(options, base) {
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
      'These change the values shown; the order is by the SNR stored for the defaults, silent filters (scale below minScale) last.',
    ),
  );
}
