import {
  FALLBACK_COLUMNS,
  Progress,
  RateMeter,
  bar,
  fitLine,
  formatDuration,
  progressModeFor,
  rateText,
} from '../../../src/cli/progress.js';
import { ProbeWatch, TrainingWatch } from '../../../src/cli/watch.js';
import type { ProbeEvent, TrainingEvent } from '../../../src/cli/operations.js';

function sink(isTTY: boolean, columns = 200) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, columns, write: (t: string) => writes.push(t) } };
}

const trainingEvent = (e: Partial<TrainingEvent>): TrainingEvent => ({
  sequence: 1,
  type: 'STATUS',
  at: '',
  status: null,
  backend: null,
  device: null,
  error: null,
  epoch: null,
  finalTestSR: null,
  metrics: null,
  step: null,
  ...e,
});

describe('progress', () => {
  it('draws bars', () => {
    expect(bar(0, 10)).toBe('[..........]');
    expect(bar(0.5, 10)).toBe('[#####.....]');
    expect(bar(2, 4)).toBe('[####]');
    expect(bar(NaN, 4)).toBe('[....]');
  });

  it('uses a redrawn status on a terminal, plain lines otherwise, nothing when off', () => {
    expect(progressModeFor({ isTTY: true, columns: 120, write: () => true }, true)).toBe('tty');
    expect(progressModeFor({ isTTY: false, write: () => true }, true)).toBe('plain');
    expect(progressModeFor({ isTTY: true, columns: 120, write: () => true }, false)).toBe('off');
    // A terminal that reports 0 columns, or none: whole plain lines.
    expect(progressModeFor({ isTTY: true, columns: 0, write: () => true }, true)).toBe('plain');
    expect(progressModeFor({ isTTY: true, write: () => true }, true)).toBe('plain');
  });

  it('prints plain status lines at most once per interval, and every note', () => {
    let now = 0;
    const { writes, stream } = sink(false);
    const p = new Progress(stream, 'plain', { intervalMs: 5000, now: () => now });
    p.status(['a']);
    now = 1000;
    p.status(['b']);
    now = 5000;
    p.status(['c', 'd']);
    p.note('epoch 1 done');
    now = 6000;
    p.status(['e'], true);
    expect(writes).toEqual(['a\n', 'c | d\n', 'epoch 1 done\n', 'e\n']);
  });

  it('redraws the status block in place on a terminal and keeps notes above it', () => {
    let now = 0;
    const { writes, stream } = sink(true, 20);
    const p = new Progress(stream, 'tty', { now: () => now });
    p.status(['line one', 'line two']);
    now = 1000;
    p.status(['line three', 'a very long line that does not fit']);
    p.note('a note');
    p.clear();
    expect(writes[0]).toBe('line one\nline two');
    // back to the start of the 2-line block, erase, redraw; long lines are cut to the width
    expect(writes[1]).toBe('\r\x1b[1A\x1b[Jline three\na very long line t…');
    expect(writes[2]).toBe('\r\x1b[1A\x1b[Ja note\nline three\na very long line t…');
    expect(writes[3]).toBe('\r\x1b[1A\x1b[J');
  });

  it('draws a status that came too soon once the redraw interval is up', () => {
    jest.useFakeTimers();
    try {
      let now = 0;
      const { writes, stream } = sink(true);
      const p = new Progress(stream, 'tty', { now: () => now });
      p.status(['first']);
      now = 50;
      p.status(['second']);
      expect(writes).toEqual(['first']);
      jest.advanceTimersByTime(50);
      expect(writes).toEqual(['first', '\r\x1b[Jsecond']);
    } finally {
      jest.useRealTimers();
    }
  });

  it('follows training events: a note per epoch, the epochs seen, bars for batches', () => {
    const { writes, stream } = sink(false);
    const p = new Progress(stream, 'plain', { intervalMs: 0 });
    const w = new TrainingWatch(p, 3);
    w.onEvent(trainingEvent({ status: 'RUNNING', backend: 'wasm', device: 'CPU' }));
    w.onEvent(
      trainingEvent({ type: 'STEP', step: { epoch: 1, batch: 5, batches: 10, loss: 1.2 } }),
    );
    const metrics = {
      epoch: 1,
      trainLoss: 1,
      trainSR: 0.5,
      testLoss: 1.1,
      testSR: 0.45,
      learningRate: 0.01,
      wallSeconds: 12,
    };
    w.onEvent(trainingEvent({ type: 'EPOCH', metrics }));
    expect(w.epochEvents).toEqual([1]);
    const text = writes.join('');
    expect(text).toContain('phase 1 running on wasm (CPU)');
    expect(text).toContain('epoch 1/3 [###.................]  batch 5/10 [#####.....]  loss 1.200');
    expect(text).not.toContain('/s');
    expect(text).toContain(
      'phase 1 epoch 1/3: train loss 1.000 SR 0.500 | test loss 1.100 SR 0.450 | lr 0.0100 | 12 s',
    );
  });

  it('counts filters once per index even when a retried probe sends them again', () => {
    const { stream } = sink(false);
    const p = new Progress(stream, 'off');
    const w = new ProbeWatch(
      p,
      ['conv1', 'conv2'],
      new Map([
        ['conv1', 4],
        ['conv2', 8],
      ]),
      2,
    );
    const ev = (e: Partial<ProbeEvent>): ProbeEvent => ({
      sequence: 1,
      type: 'FILTERS',
      at: '',
      status: null,
      layer: 'conv1',
      epoch: null,
      testSR: null,
      trainLoss: null,
      successRate: null,
      filterIndices: null,
      error: null,
      ...e,
    });
    w.onEvent(ev({ filterIndices: [0, 1] }));
    w.onEvent(ev({ filterIndices: [1, 2] }));
    expect(w.lines()[1]).toContain('filters 3/12');
    w.onEvent(ev({ type: 'STATUS', status: 'RUNNING' }));
    expect(w.lines()[1]).toContain('filters 0/12');
  });
});

const probeEvent = (e: Partial<ProbeEvent>): ProbeEvent => ({
  sequence: 1,
  type: 'FILTERS',
  at: '',
  status: null,
  layer: 'conv1',
  epoch: null,
  testSR: null,
  trainLoss: null,
  successRate: null,
  filterIndices: null,
  error: null,
  ...e,
});
const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds)).toISOString();

describe('progress: width, rates and time left', () => {
  it('fits lines to 80 columns when a terminal reports 0 or none, never to "p…"', () => {
    const line = `phase 1  epoch 1/3 ${'x'.repeat(100)}`;
    for (const columns of [0, undefined, NaN, 5]) {
      const fitted = fitLine(line, columns);
      expect(fitted).toHaveLength(FALLBACK_COLUMNS - 1);
      expect(fitted.startsWith('phase 1  epoch 1/3')).toBe(true);
      expect(fitted.endsWith('…')).toBe(true);
    }
    expect(fitLine(line, 200)).toBe(line);
    expect(fitLine('short', 0)).toBe('short');
    expect(fitLine(line, 40)).toHaveLength(39);

    // A terminal that reports 0 columns: the status and the notes keep their words.
    const { writes, stream } = sink(true, 0);
    const p = new Progress(stream, 'tty', { now: () => 0 });
    p.status(['phase 1  epoch 1/3 [###.......]  batch 5/10'], true);
    p.note('phase 1 running on wasm (CPU)');
    const text = writes.join('');
    expect(text).toContain('phase 1  epoch 1/3 [###.......]  batch 5/10');
    expect(text).toContain('phase 1 running on wasm (CPU)');
    expect(text).not.toMatch(/(^|\n|J)p…/);
  });

  it('formats durations and rates', () => {
    expect(formatDuration(42.4)).toBe('42s');
    expect(formatDuration(185)).toBe('3m 05s');
    expect(formatDuration(3720)).toBe('1h 02m');
    expect(formatDuration(-3)).toBe('0s');
    expect(rateText(812.4, 185, 'img')).toBe('  812 img/s  ETA 3m 05s');
    expect(rateText(0.25, null, 'filter')).toBe('  0.25 filter/s');
    expect(rateText(null, null, 'img')).toBe('');
    expect(rateText(0, null, 'img')).toBe('');
  });

  it('measures a rate over its window and the time left at it, afresh when the count goes back', () => {
    const r = new RateMeter(10_000);
    expect(r.perSecond()).toBeNull();
    r.add(0, 0);
    expect(r.perSecond()).toBeNull();
    r.add(1000, 100);
    r.add(2000, 200);
    expect(r.perSecond()).toBe(100);
    expect(r.secondsLeft(1200)).toBe(10);
    expect(r.secondsLeft(150)).toBe(0);
    // A slower stretch: the window forgets what is older than 10 s.
    r.add(22_000, 400);
    r.add(32_000, 500);
    expect(r.perSecond()).toBe(10);
    // A job started again: its count goes back, and the meter starts over.
    r.add(33_000, 0);
    expect(r.perSecond()).toBeNull();
    // Events of one instant (each layer's head epoch) count as one sample, the last.
    const same = new RateMeter();
    same.add(0, 0);
    same.add(0, 5);
    expect(same.perSecond()).toBeNull();
    same.add(1000, 10);
    expect(same.perSecond()).toBe(5);
  });

  it("shows images per second and the time left on the training bar, from the events' times", () => {
    const { stream } = sink(false);
    const p = new Progress(stream, 'off');
    const w = new TrainingWatch(p, 2, { batchSize: 100, trainExamples: 1000 }, () => 0);
    const step = (s: number, epoch: number, batch: number) =>
      w.onEvent(
        trainingEvent({
          type: 'STEP',
          at: at(s),
          step: { epoch, batch, batches: 10, loss: 1 },
        }),
      );
    step(0, 1, 1);
    expect(w.lines()[0]).not.toContain('img/s');
    step(1, 1, 3);
    step(2, 1, 5);
    // 400 images in 2 s: 200 img/s; 1500 of 2000 images left: 7.5 s.
    expect(w.lines()[0]).toContain(`${bar(0.25)}  200 img/s  ETA 8s  batch 5/10`);
    step(4, 2, 5); // 1500 done: (1500 - 100) / 4 s = 350 img/s, 500 left.
    expect(w.lines()[0]).toContain('350 img/s  ETA 1s');
    // Without a batch size, the rate is in batches.
    const b = new TrainingWatch(p, 1, {}, () => 0);
    b.onEvent(
      trainingEvent({ type: 'STEP', at: at(0), step: { epoch: 1, batch: 1, batches: 9, loss: 1 } }),
    );
    b.onEvent(
      trainingEvent({ type: 'STEP', at: at(2), step: { epoch: 1, batch: 5, batches: 9, loss: 1 } }),
    );
    expect(b.lines()[0]).toContain('2.0 batch/s  ETA 2s');
  });

  it('shows the frozen pass, head epochs and filters with their rates and time left', () => {
    const { stream } = sink(false);
    const p = new Progress(stream, 'off');
    const w = new ProbeWatch(
      p,
      ['conv1', 'conv2'],
      new Map([
        ['conv1', 4],
        ['conv2', 8],
      ]),
      4,
      () => 0,
    );
    w.onEvent(
      probeEvent({
        type: 'FEATURES',
        at: at(0),
        split: 'train',
        done: 3000,
        total: 6000,
        imagesPerSecond: 1000,
      }),
    );
    expect(w.lines()[2]).toBe(
      `phase 2  frozen pass train 3000/6000 ${bar(0.5)}  1000 img/s  ETA 3s`,
    );
    w.onEvent(
      probeEvent({
        type: 'FEATURES',
        at: at(3),
        split: 'train',
        done: 6000,
        total: 6000,
        imagesPerSecond: 1000,
      }),
    );
    expect(w.lines()).toHaveLength(2);
    for (const [s, epoch] of [
      [10, 1],
      [20, 2],
    ] as const)
      for (const layer of ['conv1', 'conv2'])
        w.onEvent(probeEvent({ type: 'HEAD_EPOCH', at: at(s), layer, epoch, testSR: 0.5 }));
    // One head epoch per 10 s over 6000 train images: 600 img/s; 2 epochs left: 20 s.
    expect(w.lines()[0]).toContain('heads epoch 2/4');
    expect(w.lines()[0]).toContain('600 img/s  ETA 20s  SR -');
    w.onEvent(probeEvent({ at: at(30), filterIndices: [0, 1] }));
    w.onEvent(probeEvent({ at: at(32), filterIndices: [2, 3] }));
    // 2 filters in 2 s; 8 of 12 left.
    expect(w.lines()[1]).toContain('filters 4/12');
    expect(w.lines()[1]).toContain('1.0 filter/s  ETA 8s  conv1 4/4');
  });
});
