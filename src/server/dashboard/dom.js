// Small DOM helpers: element builders, number formats, and the error box every view uses.

const SVG_NS = 'http://www.w3.org/2000/svg';

function build(element, props, children) {
  for (const [name, value] of Object.entries(props ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2).toLowerCase(), value);
    } else {
      element.setAttribute(name, value === true ? '' : String(value));
    }
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** An HTML element: `h('a', { href: '#/runs' }, 'Runs')`. Null, undefined and false are skipped. */
export const h = (tag, props, ...children) => build(document.createElement(tag), props, children);

/** An SVG element, same arguments as `h`. */
export const s = (tag, props, ...children) =>
  build(document.createElementNS(SVG_NS, tag), props, children);

/** Replaces every child of `parent`. */
export function replace(parent, ...children) {
  parent.replaceChildren();
  build(parent, null, children);
}

/** A rate in [0, 1] as a percentage, or a dash. */
export const pct = (x, digits = 1) =>
  typeof x === 'number' && Number.isFinite(x) ? `${(x * 100).toFixed(digits)}%` : '–';

/** A number with at most `digits` significant digits, or a dash. */
export const num = (x, digits = 3) =>
  typeof x === 'number' && Number.isFinite(x) ? String(Number(x.toPrecision(digits))) : '–';

/** A date-time string in the reader's locale, or a dash. */
/**
 * A filter's SNR as the API gives it: a number, or null when it has no noise. Null is never shown
 * as infinity: with no marks at all (signal 0 and noise 0, e.g. a threshold above every entry)
 * there is nothing to divide.
 */
export const snrText = (filter) =>
  filter.snr !== null
    ? num(filter.snr)
    : filter.signal === 0
      ? 'none (no marks)'
      : 'none (no noise)';

export const when = (iso) => (iso ? new Date(iso).toLocaleString() : '–');

/** Seconds between two ISO times (the second defaults to now), as "1m 05s". */
export function duration(from, to) {
  if (!from) return '–';
  const seconds = Math.max(
    0,
    Math.round(((to ? Date.parse(to) : Date.now()) - Date.parse(from)) / 1000),
  );
  const m = Math.floor(seconds / 60);
  return m > 0 ? `${m}m ${String(seconds % 60).padStart(2, '0')}s` : `${seconds}s`;
}

/** A link to a route: `link(['runs', id], 'text')` → `#/runs/<id>`. */
export const href = (...parts) => `#/${parts.map(encodeURIComponent).join('/')}`;

/** A status badge (QUEUED, RUNNING, CANCELLING, SUCCEEDED, FAILED, CANCELLED). */
export const badge = (status, props = {}) =>
  h('span', { class: `badge status-${String(status).toLowerCase()}`, ...props }, status);

/** Shows an ApiError (or any error) with its code, as GraphQL clients need to see it. */
export function errorBox(error) {
  const code = error?.code ?? error?.extensions?.code ?? 'ERROR';
  return h(
    'div',
    { class: 'error', role: 'alert', 'data-testid': 'error', 'data-code': code },
    h('span', { class: 'error-code', 'data-testid': 'error-code' }, code),
    h(
      'span',
      { class: 'error-message', 'data-testid': 'error-message' },
      error?.message ?? String(error),
    ),
  );
}

/** A definition list from [term, value] pairs (pairs with an undefined value are left out). */
export function facts(pairs, props = {}) {
  return h(
    'dl',
    { class: 'facts', ...props },
    pairs
      .filter(([, value]) => value !== undefined)
      .map(([term, value, testid]) => [
        h('dt', null, term),
        h('dd', testid ? { 'data-testid': testid } : null, value),
      ]),
  );
}

/** Calls `fn` once, `ms` after the last call (for refetches triggered by bursts of events). */
export function debounce(fn, ms) {
  let timer = null;
  const debounced = () => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
  debounced.cancel = () => clearTimeout(timer);
  return debounced;
}

/** The breadcrumb line `Runs / ...parts`: each part a node or a string. */
export function crumbs(...parts) {
  const items = [h('a', { href: '#/' }, 'Runs'), ...parts];
  return h('p', { class: 'crumbs' }, ...items.flatMap((p, i) => (i === 0 ? [p] : [' / ', p])));
}

/** A link to a run: its name when it has one, else its architecture and dataset. */
export const runLink = (run, props = {}) =>
  h(
    'a',
    { href: href('runs', run.id), ...props },
    run.name || `${run.architecture.name} on ${run.dataset}`,
  );
