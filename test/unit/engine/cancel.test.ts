import { Worker } from 'node:worker_threads';
import { BatchClock, batchesAfterCancel, SharedCancel } from '../../../src/engine/cancel.js';

describe('cancel accounting', () => {
  it('counts the batches that finished after the commit time, the one in progress included', async () => {
    const clock = new BatchClock();
    clock.tick();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const committed = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 5));
    clock.tick();
    expect(clock.after(committed)).toBe(1);
    expect(clock.after(undefined)).toBeUndefined();
    const controller = new AbortController();
    controller.abort(committed);
    expect(batchesAfterCancel(clock, controller.signal)).toEqual({ batchesAfterCancel: 1 });
    // An abort without a time (a plain `cancel`) says nothing.
    const plain = new AbortController();
    plain.abort();
    expect(batchesAfterCancel(clock, plain.signal)).toEqual({});
  });

  it('is seen by another thread between two batches while its event loop is busy', async () => {
    // The thread spins in 50 ms "batches" without yielding to its event loop: a message would
    // never arrive, the shared flag does.
    const cancel = new SharedCancel();
    const worker = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
       const flag = new Int32Array(workerData, 0, 1);
       const time = new Float64Array(workerData, 8, 1);
       let batches = 0;
       while (Atomics.load(flag, 0) === 0 && batches < 400) {
         const t = Date.now(); while (Date.now() - t < 50) {}
         batches++;
       }
       parentPort.postMessage({ batches, time: time[0] });`,
      { eval: true, workerData: cancel.buffer },
    );
    const answer = new Promise<{ batches: number; time: number }>((resolve) =>
      worker.once('message', resolve),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    cancel.request(12345);
    const { batches, time } = await answer;
    await worker.terminate();
    expect(batches).toBeLessThan(20);
    expect(time).toBe(12345);
  });

  it('gives the engine a signal that aborts on the shared flag or on the fallback', () => {
    const cancel = new SharedCancel();
    const fallback = new AbortController();
    const signal = new SharedCancel(cancel.buffer).signal(fallback.signal);
    expect(signal.aborted).toBe(false);
    cancel.request(42);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(42);
    const other = new SharedCancel();
    const viaMessage = other.signal(fallback.signal);
    fallback.abort(7);
    expect(viaMessage.aborted).toBe(true);
    expect(viaMessage.reason).toBe(7);
  });
});
