// The cards of a run's page: progress bars, hyperparameters, an import's file, downloads, probes.

import { download } from '../api.js';
import { badge, errorBox, facts, h, href, when } from '../dom.js';
import { figureHref, pickedProbes, probePick } from '../picks.js';

export function progressBar(label, fraction, props) {
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

export function probeList(probes) {
  if (probes.length === 0)
    return h('p', { class: 'muted' }, 'No probes yet: start one with the startProbe mutation.');
  const figure = h('a', { 'data-testid': 'figure-link' });
  const showFigure = () => {
    figure.setAttribute('href', figureHref(pickedProbes));
    figure.textContent = `SR and SNR per layer of the ${pickedProbes.size} ticked probes`;
    figure.hidden = pickedProbes.size === 0;
  };
  showFigure();
  return h(
    'div',
    null,
    h(
      'ul',
      { class: 'plain' },
      probes.map((p) =>
        h(
          'li',
          null,
          p.status === 'SUCCEEDED' ? [probePick(p.id, showFigure), ' '] : null,
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
    ),
    figure,
  );
}

/** `procedural (imageSize 16, labels 4, …)`: the dataset with its options, wrapping freely. */
export const datasetText = (run) => {
  const options = Object.entries(run.datasetOptions ?? {}).map(([k, v]) => `${k} ${v}`);
  return options.length ? `${run.dataset} (${options.join(', ')})` : run.dataset;
};

export function hyperparameterCard(state) {
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
export function importCard(state) {
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
export function downloadsCard(state, errors) {
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
