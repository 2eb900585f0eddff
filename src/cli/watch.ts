import type { EpochMetric, ProbeEvent, TrainingEvent } from './operations.js';
import { bar, type Progress } from './progress.js';

const fmt = (v: number | null | undefined, digits = 3) =>
  v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(digits);

/** One line per finished epoch. */
export function epochLine(m: EpochMetric, epochs: number): string {
  return `phase 1 epoch ${m.epoch}/${epochs}: train loss ${fmt(m.trainLoss)} SR ${fmt(m.trainSR)} | test loss ${fmt(m.testLoss)} SR ${fmt(m.testSR)} | lr ${fmt(m.learningRate, 4)} | ${m.wallSeconds.toFixed(0)} s`;
}

/** Phase 1 as its events tell it: feeds the progress display and remembers each EPOCH seen. */
export class TrainingWatch {
  epoch = 0;
  batch = 0;
  batches = 0;
  loss: number | null = null;
  last: EpochMetric | null = null;
  /** Epoch numbers of the EPOCH events received, in order (a restart must not repeat one). */
  readonly epochEvents: number[] = [];

  constructor(
    private readonly progress: Progress,
    readonly epochs: number,
  ) {}

  onEvent(e: TrainingEvent): void {
    switch (e.type) {
      case 'STATUS':
        if (e.status === 'RUNNING')
          this.progress.note(`phase 1 running on ${e.backend ?? '?'} (${e.device ?? '?'})`);
        else if (e.status === 'QUEUED' && e.error)
          this.progress.note(`phase 1 queued again after: ${e.error}`);
        else if (e.status === 'QUEUED') this.progress.note('phase 1 queued');
        else if (e.status === 'SUCCEEDED')
          this.progress.note(`phase 1 succeeded: final test SR ${fmt(e.finalTestSR)}`);
        else if (e.status)
          this.progress.note(`phase 1 ${e.status}${e.error ? `: ${e.error}` : ''}`);
        break;
      case 'STEP':
        if (e.step) {
          this.epoch = e.step.epoch;
          this.batch = e.step.batch;
          this.batches = e.step.batches;
          this.loss = e.step.loss;
        }
        break;
      case 'EPOCH':
        if (e.metrics) {
          this.last = e.metrics;
          this.epochEvents.push(e.metrics.epoch);
          this.progress.note(epochLine(e.metrics, this.epochs));
        }
        break;
      case 'CHECKPOINT':
        break;
    }
    this.progress.status(this.lines());
  }

  lines(): string[] {
    const done = this.last?.epoch ?? 0;
    const current = Math.max(this.epoch, done);
    const inEpoch = this.epoch > done && this.batches > 0 ? this.batch / this.batches : 0;
    if (current === 0 && this.batches === 0) return ['phase 1  waiting for a runner'];
    const lines = [
      `phase 1  epoch ${current}/${this.epochs} ${bar((done + inEpoch) / Math.max(1, this.epochs))}  batch ${this.batch}/${this.batches} ${bar(inEpoch, 10)}  loss ${fmt(this.loss)}`,
    ];
    if (this.last)
      lines.push(
        `         epoch ${this.last.epoch}: train SR ${fmt(this.last.trainSR)}, test SR ${fmt(this.last.testSR)}`,
      );
    return lines;
  }
}

/** Phases 2 and 3 as the probe's events tell them. */
export class ProbeWatch {
  private readonly headEpoch = new Map<string, number>();
  private readonly sr = new Map<string, number>();
  private readonly headSR = new Map<string, number>();
  private readonly done = new Map<string, Set<number>>();
  private current: string | null = null;

  constructor(
    private readonly progress: Progress,
    private readonly layers: readonly string[],
    /** Filters of each probed layer. */
    private readonly filterTotals: ReadonlyMap<string, number>,
    private readonly headEpochs: number,
  ) {}

  onEvent(e: ProbeEvent): void {
    const layer = e.layer ?? '';
    switch (e.type) {
      case 'STATUS':
        this.progress.note(`phases 2+3 ${e.status ?? '?'}${e.error ? `: ${e.error}` : ''}`);
        // A probe retried after a crash starts again from the beginning.
        if (e.status === 'RUNNING') {
          this.headEpoch.clear();
          this.done.clear();
        }
        break;
      case 'HEAD_EPOCH':
        this.headEpoch.set(layer, e.epoch ?? 0);
        this.headSR.set(layer, e.testSR ?? NaN);
        // Every head trains in the same pass: one line per head epoch, when the last layer has it.
        if (layer === this.layers[this.layers.length - 1])
          this.progress.note(
            `phase 2 head epoch ${e.epoch}/${this.headEpochs}: test SR ${this.layers
              .map((l) => `${l} ${fmt(this.headSR.get(l))}`)
              .join(', ')}`,
          );
        break;
      case 'LAYER_SR':
        this.sr.set(layer, e.successRate ?? NaN);
        this.progress.note(`phase 2 ${layer}: SR ${fmt(e.successRate)}`);
        break;
      case 'FILTERS': {
        this.current = layer;
        const set = this.done.get(layer) ?? new Set<number>();
        for (const i of e.filterIndices ?? []) set.add(i);
        this.done.set(layer, set);
        break;
      }
      case 'LAYER_DONE':
        this.progress.note(
          `phase 3 ${layer}: ${this.done.get(layer)?.size ?? 0}/${this.filterTotals.get(layer) ?? '?'} filters`,
        );
        break;
    }
    this.progress.status(this.lines());
  }

  lines(): string[] {
    const epochs = this.layers.map((l) => this.headEpoch.get(l) ?? 0);
    const headDone = epochs.length ? Math.min(...epochs) : 0;
    const total = this.layers.reduce((n, l) => n + (this.filterTotals.get(l) ?? 0), 0);
    const filtersDone = this.layers.reduce((n, l) => n + (this.done.get(l)?.size ?? 0), 0);
    const current = this.current;
    const srs = this.layers
      .filter((l) => this.sr.has(l))
      .map((l) => `${l} ${fmt(this.sr.get(l))}`)
      .join(' ');
    return [
      `phase 2  heads epoch ${headDone}/${this.headEpochs} ${bar(headDone / Math.max(1, this.headEpochs))}  SR ${srs || '-'}`,
      `phase 3  filters ${filtersDone}/${total} ${bar(total ? filtersDone / total : 0)}${current ? `  ${current} ${this.done.get(current)?.size ?? 0}/${this.filterTotals.get(current) ?? '?'}` : ''}`,
    ];
  }
}
