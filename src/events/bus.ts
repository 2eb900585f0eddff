import { and, asc, eq, gt, sql } from 'drizzle-orm';
import type { StoredEvent, Topic } from '../contract/events.js';
import type { Db, Store } from '../store/db.js';
import { events, eventTopics, type EventRow } from '../store/schema/index.js';
import { TopicFeed } from './feed.js';
import { NOTIFY_CHANNEL } from './topics.js';

export type { StoredEvent } from '../contract/events.js';

/**
 * Appends one event to `topic` inside the caller's transaction, with the next per-topic sequence
 * number, and NOTIFYs `topic sequence` (delivered at commit, so listeners never see an event
 * whose state is not yet visible). Payloads go in the row, never in the NOTIFY (8000-byte cap).
 */
export async function appendEvent<E, K extends keyof E & string>(
  tx: Db,
  topic: Topic<E>,
  type: K,
  payload: E[K],
): Promise<void> {
  const [counter] = await tx
    .insert(eventTopics)
    .values({ topic, lastSequence: 1 })
    .onConflictDoUpdate({
      target: eventTopics.topic,
      set: { lastSequence: sql`${eventTopics.lastSequence} + 1` },
    })
    .returning({ sequence: eventTopics.lastSequence });
  const sequence = counter!.sequence;
  // Every payload of every topic is one of AnyPayload: E[K] is, by the Topic<E> it came with.
  await tx
    .insert(events)
    .values({ topic, sequence, type, payload: payload as EventRow['payload'] });
  await tx.execute(sql`select pg_notify(${NOTIFY_CHANNEL}, ${`${topic} ${sequence}`})`);
}

/**
 * A stored row as an event of its topic. The one place rows become typed events: only
 * `appendEvent` writes the table, and it takes each topic's own types and payloads.
 */
function eventOf<E>(row: EventRow): StoredEvent<E> {
  return {
    topic: row.topic,
    sequence: row.sequence,
    type: row.type,
    payload: row.payload,
    at: row.createdAt.toISOString(),
  } as unknown as StoredEvent<E>;
}

/**
 * NOTIFYs `topic` at the caller's commit without storing an event: a wake-up for a listener whose
 * state is already in rows (a job's cancel flag), not something a client replays.
 */
export async function notifyTopic(tx: Db, topic: string): Promise<void> {
  await tx.execute(sql`select pg_notify(${NOTIFY_CHANNEL}, ${`${topic} 0`})`);
}

interface Waiter {
  readonly topic: string;
  pending: boolean;
  wake: (() => void) | null;
}

export interface SubscribeOptions<E> {
  /** Only events with a larger sequence; 0 (default) replays the topic from its start. */
  readonly afterSequence?: number;
  /** Ends the stream after yielding an event for which this returns true. */
  readonly until?: (event: StoredEvent<E>) => boolean;
}

/**
 * In-process fan-out of the database's NOTIFYs. A NOTIFY only wakes subscribers: they read rows
 * after the last sequence they yielded, so a replay followed by live events has no gap and no
 * duplicate. A periodic re-read (`pollMs`) covers NOTIFYs lost while a connection was down.
 */
export class EventBus {
  private readonly waiters = new Set<Waiter>();
  private readonly feeds = new Map<string, TopicFeed<unknown>>();
  private readonly watchers = new Map<string, Set<() => void>>();
  private unlisten: (() => Promise<void>) | null = null;
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly pollMs = 2000,
    /** How long subscribers wait through failing reads (a database outage) before erroring. */
    private readonly outageMs = 60_000,
  ) {}

  /** Starts LISTENing; resolves once NOTIFYs will be received. */
  async start(): Promise<void> {
    this.unlisten = await this.store.listen(NOTIFY_CHANNEL, (payload) => {
      const topic = payload.slice(0, payload.lastIndexOf(' '));
      void this.feeds
        .get(topic)
        ?.refresh(true)
        .catch(() => undefined);
      for (const watcher of this.watchers.get(topic) ?? []) watcher();
      for (const waiter of this.waiters) {
        if (waiter.topic !== topic) continue;
        waiter.pending = true;
        waiter.wake?.();
      }
    });
  }

  /** Ends every subscription and stops listening. */
  async stop(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiters) waiter.wake?.();
    for (const feed of this.feeds.values()) feed.wakeAll();
    await this.unlisten?.().catch(() => undefined);
  }

  /** Number of live subscriptions (for metrics and tests). */
  get subscriberCount(): number {
    let n = 0;
    for (const feed of this.feeds.values()) n += feed.users;
    return n;
  }

  /** Resolves on the next NOTIFY of `topic` (or after `timeoutMs`), for runners waiting for work. */
  async waitFor(topic: string, timeoutMs: number): Promise<void> {
    const waiter: Waiter = { topic, pending: false, wake: null };
    this.waiters.add(waiter);
    try {
      await this.sleep(waiter, timeoutMs);
    } finally {
      this.waiters.delete(waiter);
    }
  }

  /**
   * Calls `listener` on every NOTIFY of `topic` until the returned function is called: for a
   * runner that must hear of its job's cancel at once, whatever it is doing when it comes.
   */
  watch(topic: string, listener: () => void): () => void {
    let set = this.watchers.get(topic);
    if (!set) this.watchers.set(topic, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.watchers.delete(topic);
    };
  }

  /** Replays `topic` after `afterSequence`, then streams new events as they are committed. */
  async *subscribe<E>(
    topic: Topic<E>,
    options: SubscribeOptions<E> = {},
  ): AsyncGenerator<StoredEvent<E>> {
    let last = options.afterSequence ?? 0;
    const feed = this.feedOf(topic);
    feed.users++;
    try {
      let failingSince: number | null = null;
      while (!this.closed) {
        let batch: readonly StoredEvent<E>[];
        try {
          // Live subscribers share the feed's reads; one further behind replays from the rows.
          if (feed.after(last) === null) await feed.refresh(false);
          batch = feed.after(last) ?? (await this.readAfter(topic, last, 500));
          failingSince = null;
        } catch (error) {
          // A database outage: keep the subscriber and read again once it is back, up to
          // `outageMs`; nothing is lost since reads resume after the last sequence yielded.
          failingSince ??= Date.now();
          if (Date.now() - failingSince > this.outageMs) throw error;
          await feed.wait(Math.min(this.pollMs, 500), () => this.closed);
          continue;
        }
        for (const event of batch) {
          last = event.sequence;
          yield event;
          if (options.until?.(event)) return;
        }
        if (batch.length > 0) continue;
        // A shared read may have finished while this one replayed from the rows.
        if ((feed.after(last)?.length ?? 0) > 0) continue;
        // Caught up: wait for a NOTIFY's read, or poll (once per topic per period) for NOTIFYs
        // lost while a connection was down.
        await feed.wait(this.pollMs, () => this.closed);
        if (!this.closed) await feed.refresh(false, this.pollMs / 2).catch(() => undefined);
      }
    } finally {
      if (--feed.users === 0) this.feeds.delete(topic);
    }
  }

  private feedOf<E>(topic: Topic<E>): TopicFeed<E> {
    let feed = this.feeds.get(topic) as TopicFeed<E> | undefined;
    if (!feed) {
      feed = new TopicFeed<E>(
        topic,
        (after, limit) => this.readAfter(topic, after, limit),
        () => this.lastSequence(topic),
      );
      this.feeds.set(topic, feed as TopicFeed<unknown>);
    }
    return feed;
  }

  /** The last sequence number of `topic` (0 when it has none). */
  async lastSequence(topic: string): Promise<number> {
    const [row] = await this.store.db
      .select()
      .from(eventTopics)
      .where(eq(eventTopics.topic, topic));
    return row?.lastSequence ?? 0;
  }

  /** Events of `topic` with a sequence above `after`, in order. */
  async readAfter<E>(topic: Topic<E>, after: number, limit: number): Promise<StoredEvent<E>[]> {
    const rows = await this.store.db
      .select()
      .from(events)
      .where(and(eq(events.topic, topic), gt(events.sequence, after)))
      .orderBy(asc(events.sequence))
      .limit(limit);
    return rows.map((r) => eventOf<E>(r));
  }

  private sleep(waiter: Waiter, timeoutMs: number): Promise<void> {
    if (waiter.pending || this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done(): void {
        clearTimeout(timer);
        waiter.wake = null;
        resolve();
      }
      waiter.wake = done;
    });
  }
}
