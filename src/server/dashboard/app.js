// Entry point: the hash router, the API-key form and the connection indicator.

import { getKey, onAuthRequired, onConnectionChange, setKey, takeKeyFromHash } from './api.js';
import { errorBox, h, replace } from './dom.js';
import { showKeyForm } from './key-form.js';
import { compareView } from './views/compare.js';
import { figureView } from './views/figure.js';
import { filterView } from './views/filter.js';
import { layerView } from './views/layer.js';
import { probeView } from './views/probe.js';
import { runView } from './views/run.js';
import { runsView } from './views/runs.js';

/**
 * Hash routes: `#/`, `#/runs/<id>`, `#/probes/<id>`, `#/probes/<id>/layers/<name>` (options:
 * `?threshold=&normalization=&minScale=`), `#/filters/<id>`, `#/compare?runs=<id>,…`,
 * `#/figure?probes=<id>,…`. `#/` takes `?search=` or `?tag=`.
 */
const ROUTES = [
  [/^#?\/?(?:runs)?$/, runsView],
  [/^#\/runs\/([^/]+)$/, runView],
  [/^#\/probes\/([^/]+)$/, probeView],
  [/^#\/probes\/([^/]+)\/layers\/([^/]+)$/, layerView],
  [/^#\/filters\/([^/]+)$/, filterView],
  [/^#\/compare$/, compareView],
  [/^#\/figure$/, figureView],
];

const main = document.getElementById('view');
let current = null;

/** What a view gets: its root element, and a place to register what stops its subscriptions. */
function createContext() {
  const disposers = [];
  const ctx = {
    root: h('div', { class: 'page' }),
    disposed: false,
    onDispose(fn) {
      if (ctx.disposed) fn();
      else disposers.push(fn);
    },
    dispose() {
      ctx.disposed = true;
      disposers.splice(0).forEach((fn) => fn());
    },
  };
  return ctx;
}

async function render() {
  current?.dispose();
  const ctx = createContext();
  current = ctx;
  replace(main, ctx.root);
  // `#/path?name=value`: the part after `?` is the view's options (ctx.query).
  const [hash, search = ''] = location.hash.split('?');
  ctx.query = new URLSearchParams(search);
  const route = ROUTES.find(([pattern]) => pattern.test(hash));
  if (!route) {
    replace(
      ctx.root,
      h('h1', null, 'Not found'),
      errorBox({ code: 'NOT_FOUND', message: `no page for ${hash}` }),
    );
    return;
  }
  const params = route[0].exec(hash).slice(1).map(decodeURIComponent);
  try {
    await route[1](ctx, ...params);
  } catch (error) {
    if (ctx.disposed) return;
    if (!ctx.root.hasChildNodes()) {
      ctx.root.append(
        h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Runs')),
        h('h1', null, 'This page could not be loaded'),
      );
    }
    ctx.root.append(errorBox(error));
  }
}

// ---- API key ---------------------------------------------------------------------------------

const keyPanel = document.getElementById('key-panel');
const forgetButton = document.getElementById('forget-key');

function updateForgetButton() {
  forgetButton.hidden = !getKey();
}

forgetButton.addEventListener('click', () => {
  setKey(null);
  updateForgetButton();
  render();
});

onAuthRequired((message) =>
  showKeyForm(keyPanel, message, () => {
    updateForgetButton();
    render();
  }),
);

// ---- connection indicator ---------------------------------------------------------------------

const indicator = document.getElementById('connection');
onConnectionChange((state) => {
  indicator.textContent = { connecting: 'connecting…', live: '● live', idle: '' }[state] ?? '';
  indicator.dataset.state = state;
});

// ---- start -----------------------------------------------------------------------------------

/** `#key=<key>` may arrive on load or as a later hash change (same page, new hash). */
function navigate() {
  if (takeKeyFromHash()) keyPanel.replaceChildren();
  updateForgetButton();
  render();
}
window.addEventListener('hashchange', navigate);
navigate();
