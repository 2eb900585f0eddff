import { join } from 'node:path';
import type { MessagePort, ResourceLimits } from 'node:worker_threads';
import type { BackendChoice } from '../contract/backends.js';
import { startThread } from '../threads.js';
import { SharedCancel } from './cancel.js';
import { prepareSoftwareAdapterEnvironment } from './webgpu-env.js';
import type { InboundMessage, OutboundMessage } from '../contract/protocol.js';
import {
  MessageType,
  TERMINAL_TYPES,
  validateInbound,
  validateOutbound,
} from '../contract/protocol.js';

/**
 * Transport for the engine. The engine only sees `EnginePort` (post, onMessage); this file holds
 * the two worker_threads adapters: the engine side (`threadPort`, used by worker.ts) and the
 * runner side (`startEngineWorker`, used by jobs/).
 */

/** The engine's view of its runner. */
export interface EnginePort {
  /** Sends a message to the runner; checkpoint bytes may be transferred (do not reuse them). */
  post(message: OutboundMessage): void;
  /** Calls `listener` with every message from the runner; returns a function that stops it. */
  onMessage(listener: (message: InboundMessage) => void): () => void;
}

/** A checkpoint's buffer moves instead of being copied when the view covers all of it. */
function transferList(message: OutboundMessage | InboundMessage): ArrayBuffer[] {
  const bytes =
    message.type === MessageType.Checkpoint
      ? message.bytes
      : message.type === MessageType.Start
        ? message.resumeFrom
        : message.type === MessageType.Probe || message.type === MessageType.Evaluate
          ? message.checkpoint
          : null;
  if (!bytes || !(bytes.buffer instanceof ArrayBuffer)) return [];
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  return whole ? [bytes.buffer] : [];
}

/**
 * The engine side of a worker thread: validates what arrives (a message that breaks the
 * protocol is answered with `failed`) and what leaves (a bug in the engine throws at `post`).
 */
export function threadPort(parent: MessagePort): EnginePort {
  return {
    post(message) {
      parent.postMessage(validateOutbound(message), transferList(message));
    },
    onMessage(listener) {
      const handler = (raw: unknown): void => {
        let message: InboundMessage;
        try {
          message = validateInbound(raw);
        } catch (error) {
          const e = error as Error;
          parent.postMessage({
            type: MessageType.Failed,
            error: e.message,
            stack: e.stack ?? null,
          });
          return;
        }
        listener(message);
      };
      parent.on('message', handler);
      return () => parent.off('message', handler);
    },
  };
}

export interface EngineWorkerOptions {
  /** Sets FILTERSCOPE_BACKEND for the thread; default: the variable's current value, or auto. */
  readonly backend?: BackendChoice;
  /** Extra environment variables for the thread (on top of process.env). */
  readonly env?: Readonly<Record<string, string>>;
  /** V8 heap limits of the thread, e.g. `{ maxOldGenerationSizeMb: 8192 }`. */
  readonly resourceLimits?: ResourceLimits;
}

/** The runner's handle on one engine thread. */
export interface EngineWorker {
  /** Sends `start` or `probe` (once) or `cancel`. */
  post(message: InboundMessage): void;
  /**
   * Every engine message, validated, in order. If the thread dies without a terminal message
   * (`finished`, `probeFinished`, `failed`, `cancelled`), a `failed` message saying so is
   * delivered instead.
   */
  onMessage(listener: (message: OutboundMessage) => void): () => void;
  /** Resolves with the thread's exit code once it has stopped (by itself or by `dispose`). */
  readonly exited: Promise<number>;
  /** Stops the thread if it still runs; resolves when it has exited. Safe to call twice. */
  dispose(): Promise<void>;
}

/** Starts an engine worker thread (engine/worker.js, or worker.ts from the sources: threads.ts). */
export function startEngineWorker(options: EngineWorkerOptions = {}): EngineWorker {
  const env: Record<string, string | undefined> = { ...process.env, ...options.env };
  if (options.backend) env.FILTERSCOPE_BACKEND = options.backend;
  // Native code in the thread reads the real environment, set only from here (webgpu-env.ts).
  if (prepareSoftwareAdapterEnvironment(env)) env.EGL_PLATFORM = process.env.EGL_PLATFORM;
  const cancel = new SharedCancel();
  const worker = startThread(join(__dirname, 'worker'), {
    env,
    resourceLimits: options.resourceLimits,
    workerData: { filterscopeEngine: true, cancelCell: cancel.buffer },
  });

  const listeners = new Set<(message: OutboundMessage) => void>();
  let ended = false;
  let disposed = false;
  const deliver = (message: OutboundMessage): void => {
    if (ended) return;
    if (TERMINAL_TYPES.has(message.type)) ended = true;
    for (const listener of listeners) listener(message);
  };
  const fail = (error: string, stack: string | null): void =>
    deliver({ type: MessageType.Failed, error, stack });

  worker.on('message', (raw: unknown) => {
    try {
      deliver(validateOutbound(raw));
    } catch (error) {
      fail(`engine sent an invalid message: ${(error as Error).message}`, null);
      void worker.terminate();
    }
  });
  worker.on('messageerror', (error) =>
    fail(`engine message could not be read: ${error.message}`, null),
  );
  worker.on('error', (error) =>
    fail(`engine thread crashed: ${error.message}`, error.stack ?? null),
  );
  const exited = new Promise<number>((resolve) => {
    worker.once('exit', (code) => {
      if (!disposed) fail(`engine thread exited with code ${code} before finishing`, null);
      resolve(code);
    });
  });

  return {
    post(message) {
      const valid = validateInbound(message);
      // The flag is read between batches whatever the thread's event loop is doing.
      if (valid.type === MessageType.Cancel) cancel.request(valid.requestedAt);
      worker.postMessage(valid, transferList(message));
    },
    onMessage(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    exited,
    async dispose() {
      disposed = true;
      ended = true;
      await worker.terminate();
      await exited;
    },
  };
}
