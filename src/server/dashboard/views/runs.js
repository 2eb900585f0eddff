// `#/` (options `?search=` or `?tag=`): every run, newest first, found by name, tag,
// architecture, dataset or id, with statuses kept live by `runUpdated`; pick several to compare.

import { gql, subscribeEvents } from '../api.js';
import { runColor, seconds } from '../curve-controls.js';
import { badge, debounce, errorBox, h, href, pct, replace } from '../dom.js';

const PAGE = 50;
const RUNS = `query Runs($first: Int, $after: String, $filter: RunFilter) {
  runs(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { id name tags status dataset epoch epochs startedAt durationSeconds bestTestSR origin architecture { name } }
  }
}`;
const RUN_UPDATED = `subscription RunUpdated($afterSequence: Int) {
  runUpdated(afterSequence: $afterSequence) { sequence runId status }
}`;
const SEQUENCE = `query RunUpdatesSequence { runUpdatesSequence }`;
/**
 * The last runUpdated sequence this page has seen. The first visit reads the present sequence
 * *before* the list and subscribes after it: a change in between shows up in the list and is
 * replayed (a harmless reload), never lost. Later visits resume after the last event seen.
 */
let lastSeen = null;
/** Runs ticked for comparison, kept while the reader searches and pages. */
const picked = new Set();

/** A run's number as people say it (`#17`), read from its global id. */
export function runNumber(id) {
  try {
    return `#${atob(id.replace(/-/g, '+').replace(/_/g, '/')).split(':')[1]}`;
  } catch {
    return id;
  }
}

/** The run's name, or what it is when it has none. */
export const runTitle = (run) => run.name || `${run.architecture.name} on ${run.dataset}`;

function row(run, onTag, onPick) {
  const running = run.status === 'RUNNING' || run.status === 'CANCELLING';
  return h(
    'tr',
    { 'data-testid': 'run-row', 'data-run-id': run.id },
    h(
      'td',
      null,
      h('input', {
        type: 'checkbox',
        checked: picked.has(run.id),
        'data-testid': 'run-pick',
        'aria-label': `compare ${runNumber(run.id)}`,
        onchange: (event) => onPick(run.id, event.target.checked),
      }),
    ),
    h(
      'td',
      { class: 'number' },
      h('span', { class: 'swatch', style: `background:${runColor(run.id)}` }),
      ' ',
      runNumber(run.id),
    ),
    h('td', null, h('a', { href: href('runs', run.id), 'data-testid': 'run-link' }, runTitle(run))),
    h(
      'td',
      { 'data-testid': 'run-tags' },
      run.tags.map((tag) =>
        h(
          'button',
          { type: 'button', class: 'tag', 'data-tag': tag, onclick: () => onTag(tag) },
          tag,
        ),
      ),
    ),
    h('td', null, run.architecture.name),
    h('td', null, run.dataset),
    h('td', { class: 'number' }, pct(run.bestTestSR)),
    h('td', null, badge(run.status, { 'data-testid': 'run-status' })),
    h(
      'td',
      {
        class: 'number',
        'data-testid': 'run-duration',
        'data-started': running && run.startedAt ? run.startedAt : null,
      },
      seconds(run.durationSeconds),
    ),
    h(
      'td',
      { class: 'number' },
      run.origin === 'IMPORTED' ? 'imported' : `${run.epoch} / ${run.epochs}`,
    ),
  );
}

export async function runsView(ctx) {
  const body = h('tbody');
  const summary = h('p', { class: 'muted', 'data-testid': 'runs-summary' });
  const more = h('button', { type: 'button', hidden: true }, 'Load more');
  const errors = h('div');
  const search = h('input', {
    type: 'search',
    placeholder: 'Search name, tag, architecture, dataset or #id',
    value: ctx.query.get('search') ?? '',
    'data-testid': 'runs-search',
    'aria-label': 'search runs',
  });
  let tag = ctx.query.get('tag');
  const tagChip = h('span', { 'data-testid': 'tag-filter' });
  const compare = h('a', { class: 'button', 'data-testid': 'compare-link' });
  let shown = 0;

  const showTag = () =>
    replace(
      tagChip,
      tag
        ? h(
            'span',
            null,
            'tag ',
            h('strong', null, tag),
            ' ',
            h(
              'button',
              { type: 'button', class: 'link-button', onclick: () => setTag(null) },
              '× clear',
            ),
          )
        : null,
    );
  const showCompare = () => {
    compare.textContent = `Compare ${picked.size} selected`;
    compare.setAttribute('href', `#/compare?runs=${[...picked].map(encodeURIComponent).join(',')}`);
    compare.hidden = picked.size < 1;
  };
  const setTag = (value) => {
    tag = value;
    showTag();
    reload();
  };
  const onPick = (id, on) => {
    if (on) picked.add(id);
    else picked.delete(id);
    showCompare();
  };

  replace(
    ctx.root,
    h('h1', null, 'Training runs'),
    h('div', { class: 'search-bar' }, search, tagChip, compare),
    errors,
    h(
      'table',
      { class: 'table', 'data-testid': 'runs-table' },
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          [
            '',
            'Id',
            'Name',
            'Tags',
            'Architecture',
            'Dataset',
            'Best SR',
            'Status',
            'Duration',
            'Epoch',
          ].map((t, i) => h('th', [1, 6, 8, 9].includes(i) ? { class: 'number' } : null, t)),
        ),
      ),
      body,
    ),
    summary,
    more,
  );
  showTag();
  showCompare();

  const filter = () => {
    const f = {};
    if (search.value.trim()) f.search = search.value.trim().replace(/^#(?=\d+$)/, '');
    if (tag) f.tag = tag;
    return f;
  };
  let generation = 0;
  async function load(after) {
    const mine = ++generation;
    const { runs } = await gql(RUNS, { first: PAGE, after, filter: filter() });
    if (ctx.disposed || mine !== generation) return;
    if (!after) {
      body.replaceChildren();
      shown = 0;
    }
    body.append(...runs.nodes.map((run) => row(run, setTag, onPick)));
    shown += runs.nodes.length;
    const narrowed = Object.keys(filter()).length > 0;
    summary.textContent =
      runs.totalCount === 0
        ? narrowed
          ? 'No run matches.'
          : 'No runs yet: start one with the startTraining mutation (see the README).'
        : `${shown} of ${runs.totalCount} runs${narrowed ? ' matching' : ''}.`;
    summary.dataset.total = String(runs.totalCount);
    more.hidden = !runs.pageInfo.hasNextPage;
    more.onclick = () => load(runs.pageInfo.endCursor).catch(showError);
  }
  const showError = (error) => errors.replaceChildren(errorBox(error));
  const reload = debounce(() => load().then(() => errors.replaceChildren(), showError), 150);
  ctx.onDispose(reload.cancel);
  search.addEventListener('input', reload);

  if (lastSeen === null) lastSeen = (await gql(SEQUENCE)).runUpdatesSequence;
  await load();
  // Running runs' durations tick every second.
  const ticker = setInterval(() => {
    for (const cell of body.querySelectorAll('[data-started]'))
      cell.textContent = seconds((Date.now() - Date.parse(cell.dataset.started)) / 1000);
  }, 1000);
  ctx.onDispose(() => clearInterval(ticker));
  // Any status change (a new run queued, one finishing) reloads the first page.
  ctx.onDispose(
    subscribeEvents(
      RUN_UPDATED,
      { afterSequence: lastSeen },
      {
        onEvent: (event) => {
          lastSeen = Math.max(lastSeen, event.sequence);
          reload();
        },
        onError: showError,
      },
    ),
  );
}
