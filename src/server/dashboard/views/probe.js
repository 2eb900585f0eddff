// `#/probes/<id>`: SR per probed layer (METHOD.md phase 2) and the layer aggregates (phase 3),
// kept live by `probeProgress`.

import { gql, serverDefaults, subscribeEvents } from '../api.js';
import { downloads, figureLinks } from './probe-links.js';
import { barChart } from '../charts.js';
import {
  badge,
  crumbs,
  debounce,
  duration,
  errorBox,
  facts,
  h,
  href,
  num,
  pct,
  replace,
  runLink,
  when,
} from '../dom.js';

const PROBE = `query Probe($id: ID!) {
  probe(id: $id) {
    id status createdAt startedAt finishedAt backend device error forwardCalls options layerNames
    run { id name dataset finalTestSR architecture { name } }
    layers {
      id layerName complete successRate meanClusterSize meanClustersPerFilter clusteredFraction
      meanNoise snr silentFilters probePointShape
      afcc { keptFraction srBefore srAfter }
      layer { filters }
    }
  }
}`;
const PROGRESS = `subscription ProbeProgress($probeId: ID!, $afterSequence: Int) {
  probeProgress(probeId: $probeId, afterSequence: $afterSequence) {
    sequence type status error layer epoch testSR successRate filterIndices
  }
}`;

function layerTable(probe, stored) {
  const header = [
    'Layer',
    'Filters',
    'SR',
    'Mean cluster size',
    'Clusters / filter',
    'With a cluster',
    'Noise / filter',
    'SNR',
    'Silent',
    'AFCC kept',
    'AFCC SR',
  ];
  return h(
    'table',
    { class: 'table', 'data-testid': 'layer-table' },
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        header.map((t, i) => h('th', i ? { class: 'number' } : null, t)),
      ),
    ),
    h(
      'tbody',
      null,
      probe.layers.map((l) =>
        h(
          'tr',
          {
            'data-testid': 'layer-row',
            'data-layer': l.layerName,
            'data-complete': String(l.complete),
          },
          h(
            'td',
            null,
            h(
              'a',
              {
                href: href('probes', probe.id, 'layers', l.layerName),
                'data-testid': 'layer-link',
              },
              l.layerName,
            ),
          ),
          h(
            'td',
            { class: 'number' },
            l.complete
              ? l.layer.filters
              : `${stored.get(l.layerName)?.size ?? 0} / ${l.layer.filters}`,
          ),
          h('td', { class: 'number' }, pct(l.successRate)),
          h('td', { class: 'number' }, num(l.meanClusterSize)),
          h('td', { class: 'number' }, num(l.meanClustersPerFilter)),
          h('td', { class: 'number' }, pct(l.clusteredFraction, 0)),
          h('td', { class: 'number' }, num(l.meanNoise)),
          h('td', { class: 'number' }, l.complete && l.snr === null ? 'no noise' : num(l.snr)),
          h('td', { class: 'number' }, l.silentFilters ?? '–'),
          h('td', { class: 'number' }, pct(l.afcc?.keptFraction, 0)),
          h(
            'td',
            { class: 'number' },
            l.afcc ? `${pct(l.afcc.srBefore)} → ${pct(l.afcc.srAfter)}` : '–',
          ),
        ),
      ),
    ),
  );
}

/** METHOD.md claim 3: the layer SNR (total signal / total noise) should rise with depth. */
function snrChart(probe) {
  const byName = new Map(probe.layers.map((l) => [l.layerName, l]));
  const bars = probe.layerNames.map((name) => {
    const l = byName.get(name);
    const noiseFree = l?.complete && l.snr === null;
    return { label: name, value: l?.complete ? l.snr : null, note: noiseFree ? 'no noise' : null };
  });
  const highest = Math.max(0, ...bars.map((b) => b.value ?? 0));
  return barChart({
    title: 'Layer SNR (signal / noise over non-silent filters)',
    testid: 'snr-layers-chart',
    bars,
    yMax: highest > 0 ? highest * 1.15 : 1,
    percent: false,
    quantity: 'SNR',
    barTestid: 'snr-bar',
    pendingTestid: 'snr-pending',
    width: Math.max(420, 90 * probe.layerNames.length),
  });
}

export async function probeView(ctx, id) {
  const [{ probe }, { final }] = await Promise.all([gql(PROBE, { id }), serverDefaults()]);
  if (ctx.disposed) return;
  if (!probe) {
    replace(
      ctx.root,
      h('h1', null, 'Probe'),
      errorBox({ code: 'NOT_FOUND', message: `no probe with id ${id}` }),
    );
    return;
  }
  let state = probe;
  // Live values from events, over what the last query returned.
  const sr = new Map(probe.layers.map((l) => [l.layerName, l.successRate]));
  const stored = new Map();
  let activity = null;

  const header = h('div');
  const errors = h('div');
  const live = h('p', { class: 'muted', 'data-testid': 'probe-activity' });
  const chart = h('div', { class: 'charts' });
  const table = h('div', { class: 'card scroll' });
  const details = h('div', { class: 'columns' });
  replace(ctx.root, header, errors, live, chart, table, details);

  const draw = () => {
    replace(
      header,
      crumbs(runLink(state.run, { 'data-testid': 'run-link' }), 'probe'),
      h('h1', null, 'Probe ', badge(state.status, { 'data-testid': 'probe-status' })),
      figureLinks(state),
      state.error
        ? errorBox({
            code: state.status === 'FAILED' ? 'PROBE_FAILED' : 'RETRYING',
            message: state.error,
          })
        : null,
    );
    live.textContent = final.has(state.status) ? '' : (activity ?? 'Waiting for a runner…');
    replace(
      chart,
      barChart({
        title: 'Success rate of a linear readout per layer',
        testid: 'sr-layers-chart',
        bars: state.layerNames.map((name) => ({ label: name, value: sr.get(name) ?? null })),
        reference: state.run.finalTestSR,
        referenceLabel: `full network ${pct(state.run.finalTestSR)}`,
        width: Math.max(420, 90 * state.layerNames.length),
      }),
      snrChart(state),
    );
    replace(table, h('h2', null, 'Layers'), layerTable(state, stored));
    replace(
      details,
      h(
        'section',
        { class: 'card' },
        h('h2', null, 'Probe'),
        facts([
          ['Created', when(state.createdAt)],
          [
            final.has(state.status) ? 'Took' : 'Running for',
            state.startedAt ? duration(state.startedAt, state.finishedAt) : '–',
          ],
          ['Backend', `${state.backend ?? '–'}${state.device ? ` (${state.device})` : ''}`],
          ['Forward calls', state.forwardCalls ?? '–'],
        ]),
      ),
      downloads(state, errors),
      h(
        'section',
        { class: 'card' },
        h('h2', null, 'Options'),
        h('pre', { class: 'json' }, JSON.stringify(state.options, null, 2)),
      ),
    );
  };
  draw();
  if (final.has(probe.status)) return;

  const showError = (error) => errors.replaceChildren(errorBox(error));
  const refresh = debounce(async () => {
    try {
      const { probe: fresh } = await gql(PROBE, { id });
      if (!fresh || ctx.disposed) return;
      state = fresh;
      for (const l of fresh.layers) if (l.successRate !== null) sr.set(l.layerName, l.successRate);
      draw();
    } catch (error) {
      showError(error);
    }
  }, 300);
  ctx.onDispose(refresh.cancel);
  ctx.onDispose(
    subscribeEvents(
      PROGRESS,
      { probeId: id, afterSequence: 0 },
      {
        onEvent(event) {
          if (event.type === 'HEAD_EPOCH') {
            activity = `Training the head of ${event.layer}: epoch ${event.epoch}, test SR ${pct(event.testSR)}`;
          } else if (event.type === 'LAYER_SR') {
            sr.set(event.layer, event.successRate);
            activity = `${event.layer}: SR ${pct(event.successRate)}; computing its filters' correlation matrices`;
          } else if (event.type === 'FILTERS') {
            const set = stored.get(event.layer) ?? new Set();
            (event.filterIndices ?? []).forEach((i) => set.add(i));
            stored.set(event.layer, set);
          } else if (event.type === 'LAYER_DONE') {
            refresh();
          } else if (event.type === 'STATUS') {
            state = { ...state, status: event.status, error: event.error ?? state.error };
            if (final.has(event.status)) refresh();
          }
          draw();
        },
        onComplete: refresh,
        onError: showError,
      },
    ),
  );
}
