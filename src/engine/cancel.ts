/**
 * How the engine accounts for a cancel: the runner aborts the job's signal with the time the
 * cancel was committed (`Date.now()` ms, the `cancel` message's `requestedAt`), and the loops
 * tick a `BatchClock` after every batch, so that `cancelled` can say how many batches finished
 * after the commit (the one in progress then included).
 */

/** Batch end times kept: far more than a cancel that arrives in time can span. */
const KEEP = 256;

/** End times of the latest batches of a job (training, test, head or AFCC passes alike). */
export class BatchClock {
  private readonly ends: number[] = [];

  /** Records that a batch just finished. */
  tick(): void {
    this.ends.push(Date.now());
    if (this.ends.length > KEEP) this.ends.shift();
  }

  /** Batches that finished after `time` (ms since the epoch); undefined when `time` is. */
  after(time: number | undefined): number | undefined {
    if (time === undefined) return undefined;
    let n = 0;
    for (let i = this.ends.length - 1; i >= 0 && this.ends[i]! > time; i--) n++;
    return n;
  }
}

/** The commit time a cancel carried as the signal's abort reason, if it did. */
export function cancelRequestedAt(signal: CancelSignal | undefined): number | undefined {
  const reason: unknown = signal?.reason;
  return typeof reason === 'number' && Number.isFinite(reason) ? reason : undefined;
}

/** The `batchesAfterCancel` field of a `cancelled` message (absent when unknown). */
export function batchesAfterCancel(
  clock: BatchClock,
  signal: CancelSignal | undefined,
): { batchesAfterCancel?: number } {
  const n = clock.after(cancelRequestedAt(signal));
  return n === undefined ? {} : { batchesAfterCancel: n };
}

/** What the loops check between batches: an AbortSignal, or a `SharedCancel`'s view. */
export interface CancelSignal {
  readonly aborted: boolean;
  /** A number: the cancel's commit time (ms since the epoch). */
  readonly reason?: unknown;
}

/**
 * A cancel flag shared by the runner and its engine thread (a SharedArrayBuffer of 16 bytes: an
 * Int32 flag, then the Float64 commit time). The runner sets it as it posts `cancel`; the engine
 * reads it synchronously between batches. A `cancel` message alone is not enough: Node delivers
 * a message to a busy thread only after one or two turns of its event loop, and a batch that
 * starts in between runs to its end (measured: one batch more in the first head epoch).
 */
export class SharedCancel {
  private readonly flag: Int32Array;
  private readonly time: Float64Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(16)) {
    this.flag = new Int32Array(buffer, 0, 1);
    this.time = new Float64Array(buffer, 8, 1);
  }

  /** Runner side: asks the engine to stop; `requestedAt` as in the `cancel` message. */
  request(requestedAt?: number): void {
    this.time[0] = requestedAt ?? Number.NaN;
    Atomics.store(this.flag, 0, 1);
  }

  /** Engine side: a signal that is aborted once the runner asked, or once `fallback` is. */
  signal(fallback: CancelSignal): CancelSignal {
    const { flag, time } = this;
    const requested = (): boolean => Atomics.load(flag, 0) === 1;
    return {
      get aborted() {
        return requested() || fallback.aborted;
      },
      get reason() {
        const at = time[0]!;
        return requested() && Number.isFinite(at) ? at : fallback.reason;
      },
    };
  }
}
