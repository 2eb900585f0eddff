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

export function progressModeFor(stream: ProgressStream, enabled: boolean): ProgressMode {
  if (!enabled) return 'off';
  return stream.isTTY ? 'tty' : 'plain';
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
    const columns = this.stream.columns ?? 120;
    return line.length >= columns ? `${line.slice(0, Math.max(1, columns - 2))}…` : line;
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
