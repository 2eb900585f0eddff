// `#/runs/<id>`: a run's name and tags, its step-loss curve beside its epoch curves (smoothing,
// log scale, zoom, hover), throughput and time left while it trains, kept live by
// `trainingProgress`; its downloads and probes.

import { gql, serverDefaults, subscribeEvents } from '../api.js';
import { curveControls, runColor, seconds } from '../curve-controls.js';
import { badge, crumbs, errorBox, facts, h, pct, replace, when } from '../dom.js';
import {
  datasetText,
  downloadsCard,
  hyperparameterCard,
  importCard,
  probeList,
} from './run-cards.js';
import { labelsEditor } from './run-edit.js';
import { drawCharts, drawProgress } from './run-live.js';
import { runNumber, runTitle } from './runs.js';

export const RUN_FIELDS = `id name tags notes status dataset datasetOptions epoch epochs backend device threads error
    createdAt startedAt finishedAt durationSeconds bestTestSR finalTestSR trainExamples testExamples warnings
    origin imported { fileName format sizeBytes sha256 normalizationFrom notes }
    architecture { id name parameterCount }
    hyperparameters { batchSize learningRate momentum nesterov weightDecay augmentation seed schedule { kind warmupEpochs } }
    metrics { epoch trainLoss trainSR testLoss testSR learningRate wallSeconds }
    steps { step epoch batch loss imagesPerSecond }
    probes { id status createdAt layerNames }`;
const RUN = `query Run($id: ID!) { run(id: $id) { ${RUN_FIELDS} } }`;
export const PROGRESS = `subscription Progress($runId: ID!, $afterSequence: Int) {
  trainingProgress(runId: $runId, afterSequence: $afterSequence) {
    sequence at type status error reason backend device epoch bestTestSR finalTestSR warnings
    evaluation { batch batches }
    metrics { epoch trainLoss trainSR testLoss testSR learningRate wallSeconds }
    step { epoch batch batches loss imagesPerSecond }
  }
}`;

/** A STEP event's step number, counted from the run's start as `TrainingRun.steps` counts it. */
export const stepOf = (step) => (step.epoch - 1) * step.batches + step.batch;

export async function runView(ctx, id) {
  const [{ run }, { final }] = await Promise.all([gql(RUN, { id }), serverDefaults()]);
  if (ctx.disposed) return;
  if (!run) {
    replace(
      ctx.root,
      h('h1', null, 'Run'),
      errorBox({ code: 'NOT_FOUND', message: `no run with id ${id}` }),
    );
    return;
  }
  const state = {
    ...run,
    step: null,
    metrics: new Map(run.metrics.map((m) => [m.epoch, m])),
    steps: new Map(run.steps.map((s) => [s.step, s])),
  };
  const view = { smoothing: 0, log: false, zoom: null, epochZoom: null };

  const header = h('div');
  const progress = h('div', { class: 'card' });
  const charts = h('div', { class: 'charts' });
  const details = h('div', { class: 'columns' });
  const errors = h('div');
  const controls = curveControls(view, () => draw.charts());
  const editor = labelsEditor(state, (fresh) => {
    Object.assign(state, fresh);
    draw.header();
  });
  replace(
    ctx.root,
    header,
    editor,
    errors,
    progress,
    state.origin === 'TRAINED' ? controls : null,
    charts,
    details,
  );

  const draw = {
    header() {
      replace(
        header,
        crumbs(runNumber(state.id)),
        h(
          'h1',
          null,
          h('span', { class: 'swatch', style: `background:${runColor(state.id)}` }),
          ` ${runNumber(state.id)} ${runTitle(state)} `,
          badge(state.status, { 'data-testid': 'run-status' }),
        ),
        h(
          'p',
          { 'data-testid': 'run-labels' },
          state.tags.map((tag) =>
            h('a', { class: 'tag', href: `#/?tag=${encodeURIComponent(tag)}` }, tag),
          ),
          state.notes
            ? h('span', { class: 'notes', 'data-testid': 'run-notes' }, state.notes)
            : null,
        ),
        state.error
          ? errorBox({
              code: state.status === 'FAILED' ? 'RUN_FAILED' : 'RETRYING',
              message: state.error,
            })
          : null,
      );
    },
    progress() {
      drawProgress(progress, state, final);
    },
    charts() {
      drawCharts(charts, state, view, () => draw.charts());
    },
    details() {
      const ended = final.has(state.status);
      replace(
        details,
        h(
          'section',
          { class: 'card' },
          h('h2', null, 'Run'),
          facts([
            ['Status', state.status],
            ['Architecture', state.architecture.name],
            ['Dataset', datasetText(state)],
            ['Examples', `${state.trainExamples ?? '–'} train, ${state.testExamples ?? '–'} test`],
            ['Backend', `${state.backend ?? '–'}${state.device ? ` (${state.device})` : ''}`],
            ['Created', when(state.createdAt)],
            [
              ended ? 'Took' : 'Running for',
              h(
                'span',
                {
                  'data-testid': 'run-duration',
                  'data-live': ended || !state.startedAt ? null : state.startedAt,
                },
                seconds(state.durationSeconds),
              ),
            ],
            ['Best test SR', pct(state.bestTestSR), 'best-test-sr'],
            ['Final test SR', pct(state.finalTestSR), 'final-test-sr'],
          ]),
        ),
        state.hyperparameters ? hyperparameterCard(state) : importCard(state),
        downloadsCard(state, errors),
        h('section', { class: 'card' }, h('h2', null, 'Probes'), probeList(state.probes)),
      );
    },
  };
  Object.values(draw).forEach((fn) => fn());

  if (final.has(run.status)) return;
  const ticker = setInterval(() => {
    const cell = details.querySelector('[data-live]');
    if (cell) cell.textContent = seconds((Date.now() - Date.parse(cell.dataset.live)) / 1000);
  }, 1000);
  ctx.onDispose(() => clearInterval(ticker));
  const refresh = async () => {
    const { run: fresh } = await gql(RUN, { id });
    if (!fresh || ctx.disposed) return;
    Object.assign(state, fresh, {
      metrics: new Map(fresh.metrics.map((m) => [m.epoch, m])),
      steps: new Map(fresh.steps.map((s) => [s.step, s])),
    });
    Object.values(draw).forEach((fn) => fn());
  };
  const showError = (error) => errors.replaceChildren(errorBox(error));
  ctx.onDispose(
    subscribeEvents(
      PROGRESS,
      { runId: id, afterSequence: 0 },
      {
        onEvent(event) {
          if (event.type === 'EPOCH' && event.metrics) {
            state.metrics.set(event.metrics.epoch, event.metrics);
            state.epoch = Math.max(state.epoch, event.metrics.epoch);
            draw.charts();
            draw.progress();
          } else if (event.type === 'STEP' && event.step) {
            state.step = event.step;
            state.steps.set(stepOf(event.step), { ...event.step, step: stepOf(event.step) });
            draw.progress();
            draw.charts();
          } else if (event.type === 'EVALUATION' && event.evaluation) {
            state.evaluation = event.evaluation;
            draw.progress();
          } else if (event.type === 'STATUS' && event.status) {
            Object.assign(state, {
              status: event.status,
              error: event.error ?? (event.status === 'RUNNING' ? null : state.error),
              backend: event.backend ?? state.backend,
              device: event.device ?? state.device,
              startedAt: state.startedAt ?? (event.status === 'RUNNING' ? event.at : null),
              bestTestSR: event.bestTestSR ?? state.bestTestSR,
              finalTestSR: event.finalTestSR ?? state.finalTestSR,
              warnings: event.warnings ?? state.warnings,
            });
            draw.header();
            draw.progress();
            draw.details();
          }
        },
        // The stream completes after the final status: fetch the finished run once.
        onComplete: () => refresh().catch(showError),
        onError: showError,
      },
    ),
  );
}
