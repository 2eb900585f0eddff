import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import * as wasmPackage from '@tensorflow/tfjs-backend-wasm';
import { Random } from '../../../src/data/random.js';
import type { ModuleLoader } from '../../../src/engine/backend.js';
import { initBackend } from '../../../src/engine/backend.js';
import type { WasmBackendPackage } from '../../../src/engine/wasm-threads.js';
import { startWasmBackend, threadsFromEnv } from '../../../src/engine/wasm-threads.js';

/** The real loader, except that the native TensorFlow packages fail as if not installed. */
const withoutNative: ModuleLoader = (id) => {
  if (id === '@tensorflow/tfjs-node-gpu' || id === '@tensorflow/tfjs-node') {
    throw new Error(`Cannot find module '${id}'\nRequire stack: test`);
  }
  return jest.requireActual<object>(id);
};

/** A convolution forward and backward on the active backend, as arrays. */
function convStep(): Float32Array[] {
  const rng = new Random(3);
  const data = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.normal());
  let out: Float32Array[] = [];
  // Not returned through tf.tidy, which would walk every element looking for tensors.
  tf.tidy(() => {
    const x = tf.tensor4d(data(4 * 16 * 16 * 16), [4, 16, 16, 16]);
    const w = tf.tensor4d(data(3 * 3 * 16 * 32), [3, 3, 16, 32]);
    const f = (a: tf.Tensor, b: tf.Tensor): tf.Tensor =>
      tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same')));
    const y = tf.conv2d(x, w, 1, 'same');
    out = [y, ...tf.grads(f)([x, w])].map((t) => t.dataSync() as Float32Array);
  });
  return out;
}

afterEach(() => {
  // Disposing the backend also ends its threads; the next test starts it afresh.
  if (tf.findBackendFactory('wasm') as unknown) tf.removeBackend('wasm');
});

describe('initBackend', () => {
  it('falls back from the GPU and native backends to multi-threaded wasm under auto, listing why', async () => {
    const info = await initBackend('auto', withoutNative, { log: () => undefined });
    expect(info.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.skipped).toEqual([
      "tensorflow-gpu: Cannot find module '@tensorflow/tfjs-node-gpu'",
      // This machine has no GPU (webgpu.test.ts covers a GPU device that webgpu cannot use).
      'webgpu: no GPU device (/dev/nvidia*, /dev/dri/renderD*)',
      "tensorflow: Cannot find module '@tensorflow/tfjs-node'",
    ]);
    // Default: one thread per core (2 on the reference machine), at most 8.
    const threads = Math.min(threadsFromEnv(), 8);
    expect(info.threads).toBe(threads);
    expect(info.device).toBe(`CPU (wasm SIMD, ${threads} thread${threads === 1 ? '' : 's'})`);
    expect(info.threadsFallback).toBeUndefined();
  });

  it('throws naming the backend when an explicit choice fails', async () => {
    await expect(initBackend('tensorflow-gpu', withoutNative)).rejects.toThrow(
      /^backend tensorflow-gpu could not be loaded: Cannot find module '@tensorflow\/tfjs-node-gpu'/,
    );
    await expect(initBackend('tensorflow', withoutNative)).rejects.toThrow(
      /^backend tensorflow could not be loaded/,
    );
  });

  it('runs 2 wasm threads with the same results as 1 thread', async () => {
    const two = await initBackend('wasm', undefined, { threads: 2 });
    expect(two.threads).toBe(2);
    expect(two.device).toBe('CPU (wasm SIMD, 2 threads)');
    const threaded = convStep();
    tf.removeBackend('wasm');

    const one = await initBackend('wasm', undefined, { threads: 1 });
    expect(one.threads).toBe(1);
    expect(one.device).toBe('CPU (wasm SIMD, 1 thread)');
    const single = convStep();
    expect(threaded).toHaveLength(3);
    threaded.forEach((values, i) => {
      const reference = single[i]!;
      expect(values.length).toBe(reference.length);
      let worst = 0;
      let scale = 0;
      reference.forEach((r, j) => {
        worst = Math.max(worst, Math.abs(r - (values[j] ?? NaN)));
        scale = Math.max(scale, Math.abs(r));
      });
      expect(worst / scale).toBeLessThan(1e-6);
    });
  });

  it('falls back to 1 thread with a logged reason when the threaded build does not start', async () => {
    const pkg: WasmBackendPackage = wasmPackage;
    const logged: string[] = [];
    const started = await startWasmBackend(pkg, {
      threads: 2,
      log: (m) => logged.push(m),
      timeoutMs: 1,
    });
    expect(started.threads).toBe(1);
    expect(started.fallbackReason).toBe(
      'multi-threaded wasm failed, running 1 thread: its workers did not start within 1 ms',
    );
    expect(logged).toEqual([`wasm backend: ${started.fallbackReason}`]);
    expect(tf.getBackend()).toBe('wasm');
    expect(tf.tidy(() => tf.sum(tf.ones([64, 32])).dataSync()[0])).toBe(2048);
  });
});

describe('threadsFromEnv', () => {
  it('reads FILTERSCOPE_THREADS, defaulting to the number of cores', () => {
    expect(threadsFromEnv({ FILTERSCOPE_THREADS: '3' })).toBe(3);
    expect(threadsFromEnv({})).toBe(os.availableParallelism());
    expect(threadsFromEnv({ FILTERSCOPE_THREADS: '' })).toBe(os.availableParallelism());
  });

  it('rejects a value that is not a positive integer, naming it', () => {
    expect(() => threadsFromEnv({ FILTERSCOPE_THREADS: '0' })).toThrow(
      "FILTERSCOPE_THREADS must be a positive integer, got '0'",
    );
    expect(() => threadsFromEnv({ FILTERSCOPE_THREADS: 'two' })).toThrow(/got 'two'/);
  });
});
