// `#/runs/<id>`: a run's summary, its loss and SR curves and the current epoch's progress, kept
// live by `trainingProgress`.

import { gql, serverDefaults, subscribeEvents } from '../api.js';
import { lineChart } from '../charts.js';
import {
  badge,
  crumbs,
  duration,
  errorBox,
  facts,
  h,
  href,
  num,
  pct,
  replace,
  when,
} from '../dom.js';

const RUN = `query Run($id: ID!) {
  run(id: $id) {
    id status dataset datasetOptions epoch epochs backend device threads error
    createdAt startedAt finishedAt bestTestSR finalTestSR trainExamples testExamples
    architecture { id name parameterCount }
    hyperparameters { batchSize learningRate momentum nesterov weightDecay augmentation seed schedule { kind warmupEpochs } }
    metrics { epoch trainLoss trainSR testLoss testSR learningRate wallSeconds }
    probes { id status createdAt layerNames }
  }
}`;
const PROGRESS = `subscription Progress($runId: ID!, $afterSequence: Int) {
  trainingProgress(runId: $runId, afterSequence: $afterSequence) {
    sequence at type status error reason backend device epoch bestTestSR finalTestSR
    metrics { epoch trainLoss trainSR testLoss testSR learningRate wallSeconds }
    step { epoch batch batches loss }
  }
}`;

function progressBar(label, fraction, props) {
  const clamped = Math.max(0, Math.min(1, fraction || 0));
  return h(
    'div',
    { class: 'progress', ...props },
    h('div', { class: 'progress-label' }, label),
    h(
      'div',
      { class: 'progress-track' },
      h('div', { class: 'progress-fill', style: `width: ${(clamped * 100).toFixed(1)}%` }),
    ),
  );
}

function probeList(probes) {
  if (probes.length === 0)
    return h('p', { class: 'muted' }, 'No probes yet: start one with the startProbe mutation.');
  return h(
    'ul',
    { class: 'plain' },
    probes.map((p) =>
      h(
        'li',
        null,
        h(
          'a',
          { href: href('probes', p.id), 'data-testid': 'probe-link' },
          `Probe of ${when(p.createdAt)}`,
        ),
        ' ',
        badge(p.status),
        ` ${p.layerNames.join(', ')}`,
      ),
    ),
  );
}

/** `procedural (imageSize 16, labels 4, …)`: the dataset with its options, wrapping freely. */
const datasetText = (run) => {
  const options = Object.entries(run.datasetOptions ?? {}).map(([k, v]) => `${k} ${v}`);
  return options.length ? `${run.dataset} (${options.join(', ')})` : run.dataset;
};

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
  const state = { ...run, step: null, metrics: new Map(run.metrics.map((m) => [m.epoch, m])) };

  const header = h('div');
  const progress = h('div', { class: 'card' });
  const charts = h('div', { class: 'charts' });
  const details = h('div', { class: 'columns' });
  const errors = h('div');
  replace(ctx.root, header, errors, progress, charts, details);

  const draw = {
    header() {
      replace(
        header,
        crumbs('run'),
        h(
          'h1',
          null,
          `${state.architecture.name} on ${state.dataset} `,
          badge(state.status, { 'data-testid': 'run-status' }),
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
      const epochs = state.epochs;
      const done = state.metrics.size;
      const step = state.step;
      replace(
        progress,
        progressBar(`Epochs: ${done} / ${epochs}`, done / epochs, {
          'data-testid': 'run-progress',
          'data-epoch': done,
          'data-epochs': epochs,
        }),
        step && !final.has(state.status)
          ? progressBar(
              `Epoch ${step.epoch}: batch ${step.batch} / ${step.batches}, loss ${num(step.loss, 4)}`,
              step.batch / step.batches,
              {
                'data-testid': 'batch-progress',
                'data-batch': step.batch,
                'data-batches': step.batches,
              },
            )
          : null,
      );
    },
    charts() {
      const rows = [...state.metrics.values()].sort((a, b) => a.epoch - b.epoch);
      const points = (field) => rows.map((m) => ({ x: m.epoch, y: m[field] }));
      replace(
        charts,
        lineChart({
          title: 'Loss',
          testid: 'loss-chart',
          xMax: state.epochs,
          series: [
            { name: 'train', points: points('trainLoss') },
            { name: 'test', points: points('testLoss'), dashed: true },
          ],
        }),
        lineChart({
          title: 'Success rate',
          testid: 'sr-chart',
          xMax: state.epochs,
          yDomain: [0, 1],
          yFormat: (v) => `${Math.round(v * 100)}%`,
          series: [
            { name: 'train', points: points('trainSR') },
            { name: 'test', points: points('testSR'), dashed: true },
          ],
        }),
      );
    },
    details() {
      const hp = state.hyperparameters;
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
            ['Running for', state.startedAt ? duration(state.startedAt, state.finishedAt) : '–'],
            ['Best test SR', pct(state.bestTestSR), 'best-test-sr'],
            ['Final test SR', pct(state.finalTestSR), 'final-test-sr'],
          ]),
        ),
        h(
          'section',
          { class: 'card' },
          h('h2', null, 'Hyperparameters'),
          facts([
            ['Epochs', state.epochs],
            ['Batch size', hp.batchSize],
            [
              'Learning rate',
              `${hp.learningRate} (${hp.schedule.kind.toLowerCase()}${hp.schedule.warmupEpochs ? `, ${hp.schedule.warmupEpochs} warm-up` : ''})`,
            ],
            ['Momentum', `${hp.momentum}${hp.nesterov ? ' (Nesterov)' : ''}`],
            ['Weight decay', hp.weightDecay],
            ['Augmentation', hp.augmentation],
            ['Seed', hp.seed],
          ]),
        ),
        h('section', { class: 'card' }, h('h2', null, 'Probes'), probeList(state.probes)),
      );
    },
  };
  Object.values(draw).forEach((fn) => fn());

  if (final.has(run.status)) return;
  const refresh = async () => {
    const { run: fresh } = await gql(RUN, { id });
    if (!fresh || ctx.disposed) return;
    Object.assign(state, fresh, { metrics: new Map(fresh.metrics.map((m) => [m.epoch, m])) });
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
