// A probe page's links: its per-layer figure (alone or with the ticked probes) and its exports.

import { download } from '../api.js';
import { errorBox, h } from '../dom.js';
import { figureHref, pickedProbes, probePick } from '../picks.js';

/** The per-layer figure of this probe, and a tick that adds it to the figure's other probes. */
export function figureLinks(state) {
  if (state.status !== 'SUCCEEDED') return null;
  const others = h('a', { 'data-testid': 'figure-link' });
  const show = () => {
    others.setAttribute('href', figureHref(pickedProbes));
    others.textContent = `figure of the ${pickedProbes.size} ticked probes`;
    others.hidden = pickedProbes.size === 0;
  };
  show();
  return h(
    'p',
    { class: 'curve-controls' },
    h(
      'a',
      { href: figureHref([state.id]), 'data-testid': 'figure-this' },
      'SR and SNR per layer (figure, CSV)',
    ),
    h('label', null, probePick(state.id, show), ' add to the figure'),
    others,
  );
}

/** The probe's exports (README, "Exports"), downloaded with the stored key. */
export function downloads(state, errors) {
  const base = `/export/probes/${encodeURIComponent(state.id)}`;
  const link = (file, label) =>
    h(
      'a',
      {
        href: `${base}/${file}`,
        'data-testid': `download-${file.replace('.', '-')}`,
        onclick: (event) => {
          event.preventDefault();
          download(`${base}/${file}`, `probe-${file}`).catch((error) =>
            errors.replaceChildren(errorBox(error)),
          );
        },
      },
      label,
    );
  return h(
    'section',
    { class: 'card' },
    h('h2', null, 'Downloads'),
    h(
      'ul',
      { class: 'downloads' },
      h('li', null, link('layers.csv', 'layers with their aggregates (CSV)')),
      h('li', null, link('filters.csv', 'every filter’s metrics (CSV)')),
      h('li', null, link('filters.json', 'every filter with its correlation matrix (JSON)')),
    ),
  );
}
