/**
 * Progress on stderr. On a terminal a few status lines are redrawn in place and permanent notes
 * scroll above them; otherwise notes are plain lines and the status is printed at most once
 * every `intervalMs`; `off` prints nothing.
 */

export type ProgressMode = 'tty' | 'plain' | 'off';

export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/** `[#####.....]` filled to `fraction` (clamped to [0, 1]). */
export function bar(fraction: number, width = 20): string {
  const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}]`;
}

/** Below this many columns a terminal's width is not believed (0 from some ptys and CI). */
const MIN_COLUMNS = 20;
/** The width assumed for a terminal that reports none, or an implausible one. */
export const FALLBACK_COLUMNS = 80;

/** `line` cut with an ellipsis to fit `columns` (80 when the terminal reports none or 0). */
export function fitLine(line: string, columns: number | undefined): string {
  const width =
    columns !== undefined && Number.isFinite(columns) && columns >= MIN_COLUMNS
      ? columns
      : FALLBACK_COLUMNS;
  return line.length >= width ? `${line.slice(0, width - 2)}…` : line;
}

/** "42s", "3m 05s", "1h 02m". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * A rate (things per second) over the samples of the last `windowMs`, and the time left at that
 * rate. Times are the events' own (server) times where they have them, so a replayed backlog of
 * events does not look like a burst. A count that goes back (a job started again) starts afresh.
 */
export class RateMeter {
  private samples: { t: number; done: number }[] = [];

  constructor(private readonly windowMs = 30_000) {}

  add(t: number, done: number): void {
    if (!Number.isFinite(t) || !Number.isFinite(done)) return;
    const last = this.samples[this.samples.length - 1];
    if (last && (done < last.done || t < last.t)) this.samples = [];
    else if (last && t === last.t) {
      // Several events at one instant (every layer's head epoch): the last one counts.
      last.done = done;
      return;
    }
    this.samples.push({ t, done });
    while (this.samples.length > 2 && t - this.samples[1]!.t >= this.windowMs) this.samples.shift();
  }

  /** Things per second, or null before two samples apart in time. */
  perSecond(): number | null {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.t <= first.t) return null;
    return ((last.done - first.done) * 1000) / (last.t - first.t);
  }

  /** Seconds until `total` at the current rate; null without a rate. */
  secondsLeft(total: number): number | null {
    const rate = this.perSecond();
    const last = this.samples[this.samples.length - 1];
    if (rate === null || !last) return null;
    if (last.done >= total) return 0;
    return rate > 0 ? (total - last.done) / rate : null;
  }
}

/** "  812 img/s  ETA 3m 05s": what is known of a rate and the time left, or "". */
export function rateText(
  perSecond: number | null,
  secondsLeft: number | null,
  unit: string,
): string {
  const parts: string[] = [];
  if (perSecond !== null && Number.isFinite(perSecond) && perSecond > 0)
    parts.push(`${perSecond >= 100 ? Math.round(perSecond) : perSecond.toPrecision(2)} ${unit}/s`);
  if (secondsLeft !== null && Number.isFinite(secondsLeft))
    parts.push(`ETA ${formatDuration(secondsLeft)}`);
  return parts.length ? `  ${parts.join('  ')}` : '';
}

/** An event's time in ms: its ISO `at`, else `fallback` (the local clock). */
export const eventTime = (at: string | null | undefined, fallback: number): number => {
  const t = at ? Date.parse(at) : NaN;
  return Number.isFinite(t) ? t : fallback;
};

export function progressModeFor(stream: ProgressStream, enabled: boolean): ProgressMode {
  if (!enabled) return 'off';
  // A terminal that reports no width (0 columns, as some ptys and CI runners do) cannot have
  // lines redrawn in place safely: plain lines, whole.
  const columns = stream.columns;
  const sized = columns !== undefined && Number.isFinite(columns) && columns >= MIN_COLUMNS;
  return stream.isTTY && sized ? 'tty' : 'plain';
}

const ESC = '\x1b[';
const REDRAW_MS = 100;

export class Progress {
  private drawn = 0;
  private lines: string[] = [];
  private lastPlain = -Infinity;
  private lastDraw = -Infinity;
  private timer: NodeJS.Timeout | null = null;
  private silenced = false;

  constructor(
    private readonly stream: ProgressStream,
    readonly mode: ProgressMode,
    private readonly options: { intervalMs?: number; now?: () => number } = {},
  ) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private fit(line: string): string {
    return fitLine(line, this.stream.columns);
  }

  /** Moves to the start of the status block and erases it. */
  private erase(): string {
    if (this.drawn === 0) return '';
    const up = this.drawn > 1 ? `${ESC}${this.drawn - 1}A` : '';
    this.drawn = 0;
    return `\r${up}${ESC}J`;
  }

  private draw(): string {
    if (this.lines.length === 0) return '';
    this.drawn = this.lines.length;
    this.lastDraw = this.now();
    return this.lines.map((l) => this.fit(l)).join('\n');
  }

  /** A permanent line: an epoch or a layer finished, a reconnect, a status change. */
  note(line: string): void {
    if (this.mode === 'off' || this.silenced) return;
    if (this.mode === 'plain') {
      this.stream.write(`${line}\n`);
      return;
    }
    this.stream.write(`${this.erase()}${this.fit(line)}\n${this.draw()}`);
  }

  /** The transient status (bars); `force` prints it in plain mode whatever the interval. */
  status(lines: readonly string[], force = false): void {
    if (this.mode === 'off' || this.silenced) return;
    this.lines = [...lines];
    const now = this.now();
    if (this.mode === 'plain') {
      if (!force && now - this.lastPlain < (this.options.intervalMs ?? 5000)) return;
      this.lastPlain = now;
      this.stream.write(`${lines.map((l) => l.trim()).join(' | ')}\n`);
      return;
    }
    // A terminal redraw at most every 100 ms is smooth enough and cheap; a status that comes
    // sooner is drawn when the 100 ms are up, so the last one is never left undrawn.
    if (!force && now - this.lastDraw < REDRAW_MS) {
      this.timer ??= setTimeout(
        () => {
          this.timer = null;
          if (this.lines.length > 0) this.stream.write(`${this.erase()}${this.draw()}`);
        },
        REDRAW_MS - (now - this.lastDraw),
      );
      this.timer.unref?.();
      return;
    }
    this.stream.write(`${this.erase()}${this.draw()}`);
  }

  /** Removes the status block and prints nothing more (work still winding down stays quiet). */
  stop(): void {
    this.clear();
    this.silenced = true;
  }

  /** Removes the status block (before the final summary or an error). */
  clear(): void {
    this.lines = [];
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.mode === 'tty' && this.drawn > 0) this.stream.write(this.erase());
  }
}
