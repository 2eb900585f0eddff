// `#/compare?runs=<id>,<id>,…`: several runs' curves overlaid, one colour per run (the same as
// in the list); runs still training keep adding points.

import { gql, serverDefaults, subscribeEvents } from '../api.js';
import { curveChart } from '../curves.js';
import { curveControls, runColor, seconds } from '../curve-controls.js';
import { badge, crumbs, errorBox, h, href, pct, replace } from '../dom.js';
import { PROGRESS, stepOf } from './run.js';
import { runNumber, runTitle } from './runs.js';

const RUN = `query CompareRun($id: ID!) {
  run(id: $id) {
    id name tags status dataset epochs durationSeconds bestTestSR architecture { name }
    metrics { epoch trainLoss testLoss testSR }
    steps { step loss }
  }
}`;

function legendTable(runs) {
  return h(
    'table',
    { class: 'table', 'data-testid': 'compare-runs' },
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        ['', 'Id', 'Name', 'Status', 'Best SR', 'Duration', 'Steps'].map((t) => h('th', null, t)),
      ),
    ),
    h(
      'tbody',
      null,
      runs.map((run) =>
        h(
          'tr',
          { 'data-run-id': run.id, 'data-color': runColor(run.id) },
          h('td', null, h('span', { class: 'swatch', style: `background:${runColor(run.id)}` })),
          h('td', null, runNumber(run.id)),
          h('td', null, h('a', { href: href('runs', run.id) }, runTitle(run))),
          h('td', null, badge(run.status)),
          h('td', { class: 'number' }, pct(run.bestTestSR)),
          h('td', { class: 'number' }, seconds(run.durationSeconds)),
          h('td', { class: 'number' }, run.steps.size),
        ),
      ),
    ),
  );
}

export async function compareView(ctx) {
  const ids = (ctx.query.get('runs') ?? '').split(',').filter(Boolean);
  const [{ final }, ...found] = await Promise.all([
    serverDefaults(),
    ...ids.map((id) => gql(RUN, { id })),
  ]);
  if (ctx.disposed) return;
  const missing = ids.filter((_, i) => !found[i].run);
  const runs = found
    .map((r) => r.run)
    .filter(Boolean)
    .map((run) => ({
      ...run,
      metrics: new Map(run.metrics.map((m) => [m.epoch, m])),
      steps: new Map(run.steps.map((s) => [s.step, s])),
    }));
  const view = { smoothing: 0, log: false, zoom: null, epochZoom: null };
  const charts = h('div', { class: 'charts' });
  const table = h('div');
  const errors = h('div');
  replace(
    ctx.root,
    crumbs('compare'),
    h('h1', null, `${runs.length} runs overlaid`),
    missing.length
      ? errorBox({ code: 'NOT_FOUND', message: `no run with id ${missing.join(', ')}` })
      : null,
    runs.length === 0 ? h('p', { class: 'muted' }, 'Tick runs in the list, then "Compare".') : null,
    errors,
    curveControls(view, () => draw()),
    charts,
    table,
  );

  const epochs = (field) =>
    runs.map((run) => ({
      name: `${runNumber(run.id)} ${runTitle(run)}`,
      key: run.id,
      color: runColor(run.id),
      marks: true,
      points: [...run.metrics.values()].map((m) => ({ x: m.epoch, y: m[field] })),
    }));
  const zoomSteps = (zoom) => {
    view.zoom = zoom;
    draw();
  };
  const zoomEpochs = (zoom) => {
    view.epochZoom = zoom;
    draw();
  };
  function draw() {
    const epochView = { ...view, zoom: view.epochZoom };
    replace(
      charts,
      curveChart({
        title: 'Training loss per step',
        testid: 'compare-step-chart',
        view,
        onZoom: zoomSteps,
        width: 720,
        height: 320,
        series: runs.map((run) => ({
          name: `${runNumber(run.id)} ${runTitle(run)}`,
          key: run.id,
          color: runColor(run.id),
          points: [...run.steps.values()].map((s) => ({ x: s.step, y: s.loss })),
        })),
      }),
      curveChart({
        title: 'Test loss per epoch',
        testid: 'compare-loss-chart',
        xLabel: 'epoch',
        view: epochView,
        onZoom: zoomEpochs,
        series: epochs('testLoss'),
      }),
      curveChart({
        title: 'Test SR per epoch',
        testid: 'compare-sr-chart',
        xLabel: 'epoch',
        view: { ...epochView, log: false, smoothing: 0 },
        onZoom: zoomEpochs,
        yFormat: (v) => `${Math.round(v * 1000) / 10}%`,
        series: epochs('testSR'),
      }),
    );
    replace(table, legendTable(runs));
  }
  draw();

  for (const run of runs.filter((r) => !final.has(r.status))) {
    ctx.onDispose(
      subscribeEvents(
        PROGRESS,
        { runId: run.id, afterSequence: 0 },
        {
          onEvent(event) {
            if (event.type === 'STEP' && event.step)
              run.steps.set(stepOf(event.step), {
                step: stepOf(event.step),
                loss: event.step.loss,
              });
            else if (event.type === 'EPOCH' && event.metrics)
              run.metrics.set(event.metrics.epoch, event.metrics);
            else if (event.type === 'STATUS' && event.status) run.status = event.status;
            else return;
            draw();
          },
          onComplete: async () => {
            const { run: fresh } = await gql(RUN, { id: run.id });
            if (!fresh || ctx.disposed) return;
            Object.assign(run, fresh, {
              metrics: new Map(fresh.metrics.map((m) => [m.epoch, m])),
              steps: new Map(fresh.steps.map((s) => [s.step, s])),
            });
            draw();
          },
          onError: (error) => errors.replaceChildren(errorBox(error)),
        },
      ),
    );
  }
}
