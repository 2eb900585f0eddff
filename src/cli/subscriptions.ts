import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import {
  GraphQLRequestError,
  ServerUnreachableError,
  backoffMs,
  sleep,
  type Endpoint,
} from './graphql-client.js';

/** Something a subscription streams, numbered per topic from 1. */
export interface Sequenced {
  readonly sequence: number;
}

export interface FollowOptions<T extends Sequenced> {
  readonly endpoint: Endpoint;
  /** A subscription document whose only variable besides `variables` is `$after: Int`. */
  readonly query: string;
  readonly variables: Record<string, unknown>;
  /** The subscription field, e.g. `trainingProgress`. */
  readonly field: string;
  /** Resume after this sequence (0: from the first event). */
  readonly afterSequence?: number;
  /** The event after which the stream ends (a final status). */
  readonly isFinal: (event: T) => boolean;
  readonly onEvent: (event: T) => void;
  /** How long the server may stay unreachable before giving up. */
  readonly retryForMs: number;
  readonly onDisconnect?: (info: { attempt: number; reason: string; after: number }) => void;
  readonly onReconnect?: (info: { after: number }) => void;
}

export interface FollowResult<T> {
  readonly final: T;
  readonly lastSequence: number;
  readonly events: number;
  readonly reconnects: number;
  /** Events at or below the last sequence seen, dropped (a server replaying too much). */
  readonly duplicatesDropped: number;
}

type Attempt<T> = { kind: 'final'; event: T } | { kind: 'dropped'; reason: string };

/** A connection that lasted this long before it dropped was a working one. */
const HEALTHY_MS = 5000;

/** WebSocket close codes 44xx: the server refused us (bad request, unauthorized, forbidden). */
const isRefusal = (code: number) => code >= 4400 && code < 4500;

function describe(error: unknown): string {
  if (error && typeof error === 'object') {
    const e = error as { code?: unknown; reason?: unknown; message?: unknown; error?: unknown };
    if (typeof e.code === 'number')
      return `socket closed (${e.code}${typeof e.reason === 'string' && e.reason ? ` ${e.reason}` : ''})`;
    if (e.error instanceof Error) return e.error.message;
    if (typeof e.message === 'string' && e.message) return e.message;
  }
  return String(error);
}

/**
 * Follows a replayable subscription to its final event, surviving server restarts: on a lost
 * socket (or a stream that completes before its final event, as a server shutting down does) it
 * resubscribes with `afterSequence` = the last sequence seen, so nothing is missed or seen twice.
 * GraphQL errors and refusals (44xx) are thrown at once; an unreachable server after `retryForMs`.
 */
export async function followSubscription<T extends Sequenced>(
  options: FollowOptions<T>,
): Promise<FollowResult<T>> {
  let last = options.afterSequence ?? 0;
  let events = 0;
  let reconnects = 0;
  let duplicatesDropped = 0;
  let failingSince: number | null = null;
  let failures = 0;
  for (;;) {
    let connectedAt: number | null = null;
    const eventsBefore = events;
    const outcome = await new Promise<Attempt<T>>((resolve, reject) => {
      const client = createClient({
        url: options.endpoint.wsUrl,
        webSocketImpl: WebSocket,
        lazy: true,
        retryAttempts: 0,
        connectionParams: options.endpoint.apiKey
          ? { authorization: `Bearer ${options.endpoint.apiKey}` }
          : {},
        on: {
          connected: () => {
            connectedAt = Date.now();
            if (reconnects > 0) options.onReconnect?.({ after: last });
          },
        },
      });
      let final: T | null = null;
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        fn();
        void client.dispose();
      };
      client.subscribe<Record<string, T>>(
        { query: options.query, variables: { ...options.variables, after: last } },
        {
          next: (value) => {
            if (settled) return;
            const [error] = value.errors ?? [];
            if (error) {
              const code = (error.extensions as { code?: string } | undefined)?.code ?? null;
              settle(() => reject(new GraphQLRequestError(error.message, code, options.field)));
              return;
            }
            const event = value.data?.[options.field];
            if (!event) return;
            if (event.sequence <= last) {
              duplicatesDropped++;
              return;
            }
            last = event.sequence;
            events++;
            try {
              options.onEvent(event);
            } catch (handlerError) {
              settle(() => reject(handlerError));
              return;
            }
            if (options.isFinal(event)) final = event;
          },
          error: (error: unknown) => {
            if (Array.isArray(error)) {
              const first = error[0] as { message?: string; extensions?: { code?: string } };
              settle(() =>
                reject(
                  new GraphQLRequestError(
                    first?.message ?? 'subscription error',
                    first?.extensions?.code ?? null,
                    options.field,
                  ),
                ),
              );
              return;
            }
            const code = (error as { code?: unknown } | null)?.code;
            if (typeof code === 'number' && isRefusal(code)) {
              const reason = (error as { reason?: string }).reason || 'refused';
              const gqlCode =
                code === 4401 ? 'UNAUTHENTICATED' : code === 4403 ? 'FORBIDDEN' : null;
              settle(() =>
                reject(
                  new GraphQLRequestError(
                    `${reason} (WebSocket close ${code})`,
                    gqlCode,
                    options.field,
                  ),
                ),
              );
              return;
            }
            settle(() => resolve({ kind: 'dropped', reason: describe(error) }));
          },
          complete: () =>
            settle(() =>
              resolve(
                final
                  ? { kind: 'final', event: final }
                  : { kind: 'dropped', reason: 'the stream ended before its final event' },
              ),
            ),
        },
      );
    });
    if (outcome.kind === 'final')
      return { final: outcome.event, lastSequence: last, events, reconnects, duplicatesDropped };
    // A stream that delivered events, or stayed up a while, was healthy: the retry window and
    // the back-off start again. One that keeps ending at once counts towards giving up.
    const healthy =
      events > eventsBefore || (connectedAt !== null && Date.now() - connectedAt >= HEALTHY_MS);
    if (healthy) {
      failingSince = null;
      failures = 0;
    }
    failingSince ??= Date.now();
    const waited = Date.now() - failingSince;
    if (waited >= options.retryForMs)
      throw new ServerUnreachableError(
        `${options.field}: ${options.endpoint.wsUrl} unreachable for ${Math.round(waited / 1000)} s (${outcome.reason})`,
      );
    reconnects++;
    options.onDisconnect?.({ attempt: failures, reason: outcome.reason, after: last });
    await sleep(Math.min(backoffMs(failures), options.retryForMs - waited));
    failures++;
  }
}
