// `#/`: every training run, newest first, with statuses kept live by `runUpdated`.

import { gql, subscribeEvents } from '../api.js';
import { badge, debounce, errorBox, h, href, pct, replace, when } from '../dom.js';

const PAGE = 50;
const RUNS = `query Runs($first: Int, $after: String) {
  runs(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { id status dataset epoch epochs createdAt bestTestSR finalTestSR architecture { name } probes { id } }
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

function row(run) {
  return h(
    'tr',
    { 'data-testid': 'run-row', 'data-run-id': run.id },
    h(
      'td',
      null,
      h('a', { href: href('runs', run.id), 'data-testid': 'run-link' }, when(run.createdAt)),
    ),
    h('td', null, run.architecture.name),
    h('td', null, run.dataset),
    h('td', null, badge(run.status, { 'data-testid': 'run-status' })),
    h('td', { class: 'number' }, `${run.epoch} / ${run.epochs}`),
    h('td', { class: 'number' }, pct(run.bestTestSR)),
    h('td', { class: 'number' }, pct(run.finalTestSR)),
    h('td', { class: 'number' }, run.probes.length),
  );
}

export async function runsView(ctx) {
  const body = h('tbody');
  const summary = h('p', { class: 'muted', 'data-testid': 'runs-summary' });
  const more = h('button', { type: 'button', hidden: true }, 'Load more');
  const errors = h('div');
  let shown = 0;

  replace(
    ctx.root,
    h('h1', null, 'Training runs'),
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
            'Created',
            'Architecture',
            'Dataset',
            'Status',
            'Epoch',
            'Best test SR',
            'Final test SR',
            'Probes',
          ].map((t, i) => h('th', i >= 4 ? { class: 'number' } : null, t)),
        ),
      ),
      body,
    ),
    summary,
    more,
  );

  async function load(after) {
    const { runs } = await gql(RUNS, { first: PAGE, after });
    if (ctx.disposed) return;
    if (!after) {
      body.replaceChildren();
      shown = 0;
    }
    body.append(...runs.nodes.map(row));
    shown += runs.nodes.length;
    summary.textContent =
      runs.totalCount === 0
        ? 'No runs yet: start one with the startTraining mutation (see the README).'
        : `${shown} of ${runs.totalCount} runs.`;
    more.hidden = !runs.pageInfo.hasNextPage;
    more.onclick = () => load(runs.pageInfo.endCursor).catch(showError);
  }
  const showError = (error) => errors.replaceChildren(errorBox(error));

  if (lastSeen === null) lastSeen = (await gql(SEQUENCE)).runUpdatesSequence;
  await load();
  // Any status change (a new run queued, one finishing) reloads the first page.
  const reload = debounce(() => load().then(() => errors.replaceChildren(), showError), 250);
  ctx.onDispose(reload.cancel);
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
