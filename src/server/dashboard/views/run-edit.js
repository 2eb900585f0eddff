// A run's name, tags and notes, edited in place with the `updateRun` mutation.

import { gql } from '../api.js';
import { errorBox, h } from '../dom.js';

const UPDATE = `mutation UpdateRun($id: ID!, $input: UpdateRunInput!) {
  updateRun(id: $id, input: $input) { id name tags notes }
}`;

/** A folded form; `onSaved(run)` gets the run's new name, tags and notes. */
export function labelsEditor(run, onSaved) {
  const name = h('input', {
    type: 'text',
    value: run.name,
    maxlength: '120',
    'data-testid': 'edit-name',
  });
  const tags = h('input', {
    type: 'text',
    value: run.tags.join(', '),
    placeholder: 'vgg, sweep:lr',
    'data-testid': 'edit-tags',
  });
  const notes = h('textarea', { rows: '3', 'data-testid': 'edit-notes' }, run.notes);
  const message = h('div');
  const form = h(
    'form',
    {
      class: 'options edit-labels',
      onsubmit: async (event) => {
        event.preventDefault();
        const input = {
          name: name.value,
          tags: tags.value
            .split(',')
            .map((t) => t.trim())
            .filter(Boolean),
          notes: notes.value,
        };
        try {
          const { updateRun } = await gql(UPDATE, { id: run.id, input });
          message.replaceChildren(
            h('span', { class: 'muted', 'data-testid': 'edit-saved' }, 'Saved.'),
          );
          onSaved(updateRun);
        } catch (error) {
          message.replaceChildren(errorBox(error));
        }
      },
    },
    h('label', null, 'Name ', name),
    h('label', null, 'Tags (comma-separated) ', tags),
    h('label', null, 'Notes ', notes),
    h('button', { type: 'submit', 'data-testid': 'edit-save' }, 'Save'),
    message,
  );
  return h(
    'details',
    { class: 'card', 'data-testid': 'edit-labels' },
    h('summary', null, 'Edit name, tags and notes'),
    form,
  );
}
