import WebSocket from 'ws';

/** One step of a raw WebSocket conversation: send a frame, or wait for a message of a type. */
export type RawStep = { readonly send: string | Buffer } | { readonly await: string };

export interface RawOutcome {
  /** The close code the client saw, or null when the socket was still open at the deadline. */
  readonly code: number | null;
  readonly reason: string;
  /** Every message received, parsed when it is JSON. */
  readonly messages: unknown[];
}

/**
 * Speaks raw frames to a graphql-ws endpoint (no client library, so malformed traffic gets
 * through): opens a socket with `protocol`, plays `steps` in order, and resolves when the server
 * closes the socket or `deadlineMs` passes (then it closes it itself and reports `code: null`).
 */
export function rawWebSocket(
  url: string,
  steps: readonly RawStep[],
  { protocol = 'graphql-transport-ws', deadlineMs = 3_000 } = {},
): Promise<RawOutcome> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, protocol);
    const messages: unknown[] = [];
    let next = 0;
    let waiter: ((type: string) => void) | null = null;
    let settled = false;
    const finish = (code: number | null, reason: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ code, reason, messages });
    };
    const timer = setTimeout(() => {
      finish(null, '');
      socket.close(1000);
    }, deadlineMs);
    const play = (): void => {
      while (next < steps.length && socket.readyState === WebSocket.OPEN) {
        const step = steps[next++]!;
        if ('send' in step) {
          socket.send(step.send);
          continue;
        }
        const wanted = step.await;
        if (messages.some((m) => (m as { type?: string } | null)?.type === wanted)) continue;
        waiter = (type) => {
          if (type !== wanted) return;
          waiter = null;
          play();
        };
        return;
      }
    };
    socket.on('open', play);
    socket.on('message', (data: Buffer) => {
      const text = data.toString('utf8');
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // Kept as text.
      }
      messages.push(parsed);
      waiter?.((parsed as { type?: string } | null)?.type ?? '');
    });
    socket.on('close', (code: number, reason: Buffer) => finish(code, reason.toString('utf8')));
    socket.on('error', (error) => {
      // A close after an error still reports its code; a failed handshake does not close.
      if (socket.readyState === WebSocket.CONNECTING) {
        clearTimeout(timer);
        settled = true;
        reject(error);
      }
    });
  });
}
