// The API-key form of the dashboard and the explorer. Both pages keep the key in the same
// localStorage entry (api.js), so a key entered on one works on the other.

import { setKey } from './api.js';
import { h } from './dom.js';

/**
 * Shows the form in `panel` with `message` (the server's reason), or updates the message of the
 * form already there. On submit the key is stored, the form removed, and `onSaved()` runs.
 */
export function showKeyForm(panel, message, onSaved) {
  const shown = panel.querySelector('form');
  if (shown) {
    shown.querySelector('.key-reason').textContent = message;
    return;
  }
  const input = h('input', {
    type: 'password',
    name: 'key',
    autocomplete: 'off',
    spellcheck: 'false',
    placeholder: 'API key',
    required: true,
    'data-testid': 'key-input',
    'aria-label': 'API key',
  });
  const form = h(
    'form',
    {
      class: 'key-form',
      'data-testid': 'key-form',
      onsubmit: (event) => {
        event.preventDefault();
        setKey(input.value.trim());
        panel.replaceChildren();
        onSaved();
      },
    },
    h('strong', null, 'This server needs an API key. '),
    h('span', { class: 'key-reason' }, message),
    h(
      'div',
      { class: 'key-row' },
      input,
      h('button', { type: 'submit', 'data-testid': 'key-submit' }, 'Use key'),
    ),
    h(
      'small',
      null,
      'The key is kept in this browser (localStorage) and sent as "Authorization: Bearer …". You can also open the page once as ',
      h('code', null, `${location.pathname}#key=<key>`),
      '.',
    ),
  );
  panel.replaceChildren(form);
  input.focus();
}
