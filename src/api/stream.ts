import type { StoredEvent, Topic } from '../contract/events.js';
import type { EventBus } from '../events/bus.js';
import { badInput, checkRange } from './errors.js';

/** The largest sequence a client may send (the column is an int4). */
const MAX_SEQUENCE = 2 ** 31 - 1;

export interface FollowOptions<E> {
  /** The client's `afterSequence`; absent: `defaultAfter`. */
  readonly afterSequence: number | null | undefined;
  /** Where an absent `afterSequence` starts: `start` replays everything, `present` only new events. */
  readonly defaultAfter: 'start' | 'present';
  /**
   * Whether the stream's object has ended (its final event is stored). Read before the topic's
   * last sequence, so that a final event committed in between is still replayed.
   */
  readonly finished?: () => Promise<boolean>;
  /** Ends the stream after yielding an event for which this returns true (the final event). */
  readonly until?: (event: StoredEvent<E>) => boolean;
}

/**
 * A topic's events after the client's `afterSequence`, then live: the one way every subscription
 * with `afterSequence` starts. An `afterSequence` beyond the topic's last event is BAD_USER_INPUT
 * naming that last sequence (the client is following another server or a deleted object); on a
 * finished object with nothing left to replay, the stream completes at once instead of waiting
 * for events that will never come (a client that lost its socket between the final event and
 * `complete` resubscribes exactly so).
 */
export async function followTopic<E>(
  bus: EventBus,
  topic: Topic<E>,
  options: FollowOptions<E>,
): Promise<AsyncGenerator<StoredEvent<E>>> {
  checkRange('afterSequence', options.afterSequence, { min: 0, max: MAX_SEQUENCE, integer: true });
  const finished = (await options.finished?.()) ?? false;
  const last = await bus.lastSequence(topic);
  const after = options.afterSequence ?? (options.defaultAfter === 'start' ? 0 : last);
  if (after > last)
    throw badInput(
      'afterSequence',
      after,
      `is beyond the last event of this stream (its last sequence is ${last})`,
      { lastSequence: last },
    );
  if (finished && after >= last) return nothing<E>();
  return bus.subscribe(topic, { afterSequence: after, until: options.until });
}

async function* nothing<E>(): AsyncGenerator<StoredEvent<E>> {
  return;
}
