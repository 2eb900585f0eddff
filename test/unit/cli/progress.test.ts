import { Progress, bar, progressModeFor } from '../../../src/cli/progress.js';
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
    expect(progressModeFor({ isTTY: true, write: () => true }, true)).toBe('tty');
    expect(progressModeFor({ isTTY: false, write: () => true }, true)).toBe('plain');
    expect(progressModeFor({ isTTY: true, write: () => true }, false)).toBe('off');
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
