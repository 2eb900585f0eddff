import type { StoredEvent } from '../contract/events.js';

/** Events of one topic kept in memory for its live subscribers. */
const KEEP = 1000;

/**
 * One topic's live tail, shared by every subscriber of that topic in this process: a NOTIFY (or a
 * poll) reads the new rows once, and each subscriber takes what it has not yet yielded from
 * memory. Without it, every subscriber read the database on every event (200 subscribers: 200
 * reads per event). Subscribers further behind than the tail replay from the database themselves.
 */
export class TopicFeed<E> {
  /** The last sequence read into `recent` (-1 until the first read). */
  private last = -1;
  private recent: StoredEvent<E>[] = [];
  private reading: Promise<void> | null = null;
  private again = false;
  private readAt = 0;
  private readonly wakers = new Set<() => void>();
  /** Subscribers using this feed; the bus drops a feed nobody uses. */
  users = 0;

  constructor(
    readonly topic: string,
    private readonly read: (after: number, limit: number) => Promise<StoredEvent<E>[]>,
    private readonly lastSequence: () => Promise<number>,
  ) {}

  /**
   * Events after `after` from memory, or null when memory does not reach back that far (the
   * caller replays from the database) or the feed has not read yet.
   */
  after(after: number): StoredEvent<E>[] | null {
    if (this.last < 0) return null;
    const first = this.recent[0]?.sequence ?? this.last + 1;
    if (after + 1 < first) return null;
    let lo = 0;
    let hi = this.recent.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.recent[mid]!.sequence <= after) lo = mid + 1;
      else hi = mid;
    }
    return this.recent.slice(lo);
  }

  /**
   * Reads new rows once for everyone. `force` (a NOTIFY) always reads, again after a read in
   * progress if need be; a poll reads only if nothing read in the last `minGapMs`.
   */
  refresh(force: boolean, minGapMs = 0): Promise<void> {
    if (this.reading) {
      if (force) this.again = true;
      return this.reading;
    }
    if (!force && this.last >= 0 && Date.now() - this.readAt < minGapMs) return Promise.resolve();
    this.reading = this.readNew().finally(() => {
      this.reading = null;
      if (this.again) {
        this.again = false;
        void this.refresh(true).catch(() => undefined);
      }
    });
    return this.reading;
  }

  /** Resolves on the next read that added events, or after `timeoutMs`. */
  wait(timeoutMs: number, closed: () => boolean): Promise<void> {
    if (closed()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.wakers.add(done);
    });
  }

  /** Wakes every waiting subscriber (the bus is stopping). */
  wakeAll(): void {
    for (const wake of [...this.wakers]) wake();
  }

  private async readNew(): Promise<void> {
    this.readAt = Date.now();
    if (this.last < 0) {
      // Start at the topic's present: subscribers replay anything older from the database.
      this.last = await this.lastSequence();
      return;
    }
    let added = false;
    for (;;) {
      const batch = await this.read(this.last, 500);
      if (batch.length === 0) break;
      this.recent.push(...batch);
      this.last = batch[batch.length - 1]!.sequence;
      added = true;
      if (batch.length < 500) break;
    }
    if (this.recent.length > KEEP) this.recent = this.recent.slice(-KEEP);
    if (added) this.wakeAll();
  }
}
