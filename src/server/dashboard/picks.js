// What the reader ticked for comparison, kept while moving between pages (not across reloads:
// the comparison pages carry their picks in the address).

import { h } from './dom.js';

/** Probe ids ticked for the per-layer figure. */
export const pickedProbes = new Set();

/** A link to the per-layer figure of `ids`. */
export const figureHref = (ids) => `#/figure?probes=${[...ids].map(encodeURIComponent).join(',')}`;

/** A checkbox that adds or removes probe `id` from the figure's picks; `onChange()` after. */
export function probePick(id, onChange) {
  return h('input', {
    type: 'checkbox',
    checked: pickedProbes.has(id),
    'data-testid': 'probe-pick',
    'data-probe-id': id,
    'aria-label': 'add to the per-layer figure',
    onchange: (event) => {
      if (event.target.checked) pickedProbes.add(id);
      else pickedProbes.delete(id);
      onChange?.();
    },
  });
}
