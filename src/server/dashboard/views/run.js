// `#/runs/<id>`: a run's summary, its loss and SR curves and the current epoch's progress, kept
// live by `trainingProgress`.

import { download, gql, serverDefaults, subscribeEvents } from '../api.js';
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
    createdAt startedAt finishedAt bestTestSR finalTestSR trainExamples testExamples warnings
    origin imported { fileName format sizeBytes sha256 normalizationFrom notes }
    architecture { id name parameterCount }
    hyperparameters { batchSize learningRate momentum nesterov weightDecay augmentation seed schedule { kind warmupEpochs } }
    metrics { epoch trainLoss trainSR testLoss testSR learningRate wallSeconds }
    probes { id status createdAt layerNames }
  }
}`;
const PROGRESS = `subscription Progress($runId: ID!, $afterSequence: Int) {
  trainingProgress(runId: $runId, afterSequence: $afterSequence) {
    sequence at type status error reason backend device epoch bestTestSR finalTestSR warnings
    evaluation { batch batches }
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

function hyperparameterCard(state) {
  const hp = state.hyperparameters;
  return h(
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
  );
}

/** An imported run has no hyperparameters of ours: its file and how its inputs are read. */
function importCard(state) {
  const file = state.imported;
  return h(
    'section',
    { class: 'card', 'data-testid': 'imported' },
    h('h2', null, 'Imported network'),
    facts([
      ['File', file ? `${file.fileName} (${file.format}, ${bytesText(file.sizeBytes)})` : '–'],
      ['SHA-256', file ? file.sha256.slice(0, 16) + '…' : '–'],
      ['Input standardisation', file ? file.normalizationFrom.toLowerCase() : '–'],
    ]),
    file && file.notes.length
      ? h(
          'details',
          { 'data-testid': 'import-notes' },
          h(
            'summary',
            null,
            `What the import changed (${file.notes.length}), the outputs unchanged`,
          ),
          h('ul', null, ...file.notes.map((note) => h('li', null, note))),
        )
      : null,
    ...(state.warnings ?? []).map((w) => h('p', { class: 'warning', 'data-testid': 'warning' }, w)),
  );
}

/** `12.3 MiB`, `45 KiB` or `512 bytes`. */
function bytesText(bytes) {
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  if (bytes >= 2 ** 10) return `${Math.round(bytes / 2 ** 10)} KiB`;
  return `${bytes} bytes`;
}

/** The run's files: its metrics, and its network as ONNX and TensorFlow.js once it succeeded. */
function downloadsCard(state, errors) {
  const base = `/export/runs/${encodeURIComponent(state.id)}`;
  const link = (path, filename, label, testid) =>
    h(
      'a',
      {
        href: `${base}/${path}`,
        'data-testid': testid,
        onclick: (event) => {
          event.preventDefault();
          download(`${base}/${path}`, filename).catch((error) =>
            errors.replaceChildren(errorBox(error)),
          );
        },
      },
      label,
    );
  const ready = state.status === 'SUCCEEDED';
  return h(
    'section',
    { class: 'card' },
    h('h2', null, 'Downloads'),
    h(
      'ul',
      { class: 'downloads' },
      state.origin === 'TRAINED'
        ? h(
            'li',
            null,
            link('metrics.csv', `run-metrics.csv`, 'metrics per epoch (CSV)', 'download-metrics'),
          )
        : null,
      ready
        ? h('li', null, link('model.onnx', 'model.onnx', 'network (ONNX)', 'download-onnx'))
        : null,
      ready
        ? h(
            'li',
            null,
            link(
              'tfjs/model.json',
              'model.json',
              'network (TensorFlow.js model.json)',
              'download-tfjs',
            ),
            ' + ',
            link('tfjs/weights.bin', 'weights.bin', 'weights.bin', 'download-tfjs-weights'),
          )
        : null,
      ready
        ? null
        : h('li', { class: 'muted' }, 'The network can be downloaded once the run has succeeded.'),
    ),
  );
}

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
      if (state.origin === 'IMPORTED') {
        const e = state.evaluation;
        replace(
          progress,
          e && !final.has(state.status)
            ? progressBar(
                `Measuring the test SR: batch ${e.batch} / ${e.batches}`,
                e.batch / e.batches,
                {
                  'data-testid': 'evaluation-progress',
                },
              )
            : h(
                'p',
                { class: 'muted' },
                state.status === 'SUCCEEDED'
                  ? `Imported; test SR ${pct(state.finalTestSR)} measured on arrival.`
                  : `Imported; its test SR is measured on arrival (${state.status.toLowerCase()}).`,
              ),
        );
        return;
      }
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
      if (state.origin === 'IMPORTED') return;
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
        state.hyperparameters ? hyperparameterCard(state) : importCard(state),
        downloadsCard(state, errors),
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
