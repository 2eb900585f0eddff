import type { EpochMetric, ProbeEvent, TrainingEvent } from './operations.js';
import { bar, eventTime, RateMeter, rateText, type Progress } from './progress.js';

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

  private readonly rate = new RateMeter();

  constructor(
    private readonly progress: Progress,
    readonly epochs: number,
    /** What turns batches into images; without a batch size the rate is in batches. */
    private readonly sizes: { batchSize?: number | null; trainExamples?: number | null } = {},
    private readonly now: () => number = Date.now,
  ) {}

  /** Images (or batches) per epoch, and done so far over all epochs. */
  private work(): { perEpoch: number; done: number } {
    const { batchSize, trainExamples } = this.sizes;
    const perEpoch = batchSize ? (trainExamples ?? this.batches * batchSize) : this.batches;
    const inEpoch = batchSize ? Math.min(this.batch * batchSize, perEpoch) : this.batch;
    return { perEpoch, done: Math.max(0, this.epoch - 1) * perEpoch + inEpoch };
  }

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
          this.rate.add(eventTime(e.at, this.now()), this.work().done);
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

  private rateText(): string {
    const { perEpoch } = this.work();
    const unit = this.sizes.batchSize ? 'img' : 'batch';
    return rateText(this.rate.perSecond(), this.rate.secondsLeft(this.epochs * perEpoch), unit);
  }

  lines(): string[] {
    const done = this.last?.epoch ?? 0;
    const current = Math.max(this.epoch, done);
    const inEpoch = this.epoch > done && this.batches > 0 ? this.batch / this.batches : 0;
    if (current === 0 && this.batches === 0) return ['phase 1  waiting for a runner'];
    const lines = [
      // The rate and time left come first, so that a narrow terminal cuts the details, not them.
      `phase 1  epoch ${current}/${this.epochs} ${bar((done + inEpoch) / Math.max(1, this.epochs))}${this.rateText()}  batch ${this.batch}/${this.batches} ${bar(inEpoch, 10)}  loss ${fmt(this.loss)}`,
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
  /** The frozen pass (FEATURES events): the split under way, its images done and total. */
  private features: { split: string; done: number; total: number; ips: number | null } | null =
    null;
  private trainImages: number | null = null;
  private readonly headRate = new RateMeter();
  private readonly filterRate = new RateMeter();

  constructor(
    private readonly progress: Progress,
    private readonly layers: readonly string[],
    /** Filters of each probed layer. */
    private readonly filterTotals: ReadonlyMap<string, number>,
    private readonly headEpochs: number,
    private readonly now: () => number = Date.now,
  ) {}

  private headDone(): number {
    const epochs = this.layers.map((l) => this.headEpoch.get(l) ?? 0);
    return epochs.length ? Math.min(...epochs) : 0;
  }

  private filtersDone(): number {
    return this.layers.reduce((n, l) => n + (this.done.get(l)?.size ?? 0), 0);
  }

  onEvent(e: ProbeEvent): void {
    const layer = e.layer ?? '';
    const t = eventTime(e.at, this.now());
    switch (e.type) {
      case 'STATUS':
        this.progress.note(`phases 2+3 ${e.status ?? '?'}${e.error ? `: ${e.error}` : ''}`);
        // A probe retried after a crash starts again from the beginning.
        if (e.status === 'RUNNING') {
          this.headEpoch.clear();
          this.done.clear();
          this.features = null;
          this.headRate.add(t, 0);
        }
        break;
      case 'HEAD_EPOCH':
        const before = this.headDone();
        this.headEpoch.set(layer, e.epoch ?? 0);
        this.headSR.set(layer, e.testSR ?? NaN);
        // An epoch counts when every layer's head has it (they train in one pass).
        if (this.headDone() !== before) this.headRate.add(t, this.headDone());
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
        this.filterRate.add(t, this.filtersDone());
        break;
      }
      case 'FEATURES':
        if (e.split && e.total) {
          this.features = {
            split: e.split,
            done: e.done ?? 0,
            total: e.total,
            ips: e.imagesPerSecond ?? null,
          };
          if (e.split === 'train') this.trainImages = e.total;
        }
        break;
      case 'LAYER_DONE':
        this.progress.note(
          `phase 3 ${layer}: ${this.done.get(layer)?.size ?? 0}/${this.filterTotals.get(layer) ?? '?'} filters`,
        );
        break;
    }
    this.progress.status(this.lines());
  }

  /** The frozen pass while it runs: images done of the split, the server's images/s, time left. */
  private featuresLine(): string[] {
    const f = this.features;
    if (!f || f.done >= f.total) return [];
    const left = f.ips ? (f.total - f.done) / f.ips : null;
    return [
      `phase 2  frozen pass ${f.split} ${f.done}/${f.total} ${bar(f.done / f.total)}${rateText(f.ips, left, 'img')}`,
    ];
  }

  lines(): string[] {
    const headDone = this.headDone();
    const total = this.layers.reduce((n, l) => n + (this.filterTotals.get(l) ?? 0), 0);
    const filtersDone = this.filtersDone();
    const current = this.current;
    const srs = this.layers
      .filter((l) => this.sr.has(l))
      .map((l) => `${l} ${fmt(this.sr.get(l))}`)
      .join(' ');
    // A head epoch trains on every train image once: its rate in images, where their count is known.
    const epochsPerSecond = this.headRate.perSecond();
    const heads = rateText(
      epochsPerSecond !== null && this.trainImages ? epochsPerSecond * this.trainImages : null,
      this.headRate.secondsLeft(this.headEpochs),
      'img',
    );
    const filters = rateText(
      this.filterRate.perSecond(),
      this.filterRate.secondsLeft(total),
      'filter',
    );
    return [
      `phase 2  heads epoch ${headDone}/${this.headEpochs} ${bar(headDone / Math.max(1, this.headEpochs))}${heads}  SR ${srs || '-'}`,
      `phase 3  filters ${filtersDone}/${total} ${bar(total ? filtersDone / total : 0)}${filters}${current ? `  ${current} ${this.done.get(current)?.size ?? 0}/${this.filterTotals.get(current) ?? '?'}` : ''}`,
      ...this.featuresLine(),
    ];
  }
}
