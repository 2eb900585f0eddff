// A run page's live parts: the epoch and batch progress with images/s and the time left, and the
// step-loss and epoch curves (smoothing, log scale, zoom, hover).

import { curveChart } from '../curves.js';
import { runColor, seconds } from '../curve-controls.js';
import { h, num, pct, replace } from '../dom.js';
import { progressBar } from './run-cards.js';

/** Seconds left at `imagesPerSecond`: the epochs not trained yet, less the batches done. */
function eta(state) {
  const step = state.step;
  if (!step?.imagesPerSecond || !state.trainExamples || !state.epochs) return null;
  const done =
    (step.epoch - 1) * state.trainExamples + (step.batch / step.batches) * state.trainExamples;
  return (state.epochs * state.trainExamples - done) / step.imagesPerSecond;
}

export function drawProgress(progress, state, final) {
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
  const done = state.metrics.size;
  const step = state.step;
  const live = step && !final.has(state.status);
  replace(
    progress,
    progressBar(`Epochs: ${done} / ${state.epochs}`, done / state.epochs, {
      'data-testid': 'run-progress',
      'data-epoch': done,
      'data-epochs': state.epochs,
    }),
    live
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
    live
      ? h(
          'p',
          { 'data-testid': 'throughput' },
          step.imagesPerSecond
            ? `${num(step.imagesPerSecond, 3)} images/s, about ${seconds(eta(state))} left`
            : 'measuring images/s…',
        )
      : null,
  );
}

export function drawCharts(charts, state, view, redraw) {
  if (state.origin === 'IMPORTED') return;
  const rows = [...state.metrics.values()].sort((a, b) => a.epoch - b.epoch);
  const epochSeries = (field, name, dashed) => ({
    name,
    color: dashed ? '#d62728' : '#1f77b4',
    dashed,
    marks: true,
    points: rows.map((m) => ({ x: m.epoch, y: m[field] })),
  });
  const epochView = { ...view, zoom: view.epochZoom };
  replace(
    charts,
    curveChart({
      title: 'Training loss per step',
      testid: 'step-chart',
      xRange: state.step ? [1, state.epochs * state.step.batches] : undefined,
      view,
      onZoom: (zoom) => {
        view.zoom = zoom;
        redraw();
      },
      series: [
        {
          name: 'batch loss',
          key: state.id,
          color: runColor(state.id),
          points: [...state.steps.values()].map((s) => ({ x: s.step, y: s.loss })),
        },
      ],
    }),
    curveChart({
      title: 'Loss per epoch',
      testid: 'loss-chart',
      xRange: [1, state.epochs],
      xLabel: 'epoch',
      view: epochView,
      onZoom: (zoom) => {
        view.epochZoom = zoom;
        redraw();
      },
      series: [epochSeries('trainLoss', 'train', false), epochSeries('testLoss', 'test', true)],
    }),
    curveChart({
      title: 'Success rate per epoch',
      testid: 'sr-chart',
      xRange: [1, state.epochs],
      xLabel: 'epoch',
      view: { ...epochView, log: false, smoothing: 0 },
      onZoom: (zoom) => {
        view.epochZoom = zoom;
        redraw();
      },
      yFormat: (v) => `${Math.round(v * 1000) / 10}%`,
      series: [epochSeries('trainSR', 'train', false), epochSeries('testSR', 'test', true)],
    }),
  );
}
