import * as tf from '@tensorflow/tfjs';
import type { BackendChoice, BackendName } from '../contract/backends.js';
import { registerWasmTrainingKernels } from './kernels/index.js';
import type { WasmBackendPackage } from './wasm-threads.js';
import { startWasmBackend, threadsFromEnv } from './wasm-threads.js';

/**
 * Compute backend selection. `auto` takes the first of tensorflow-gpu, tensorflow, wasm, cpu
 * that loads. The chosen backend and device are reported so that every run records them.
 */

export interface BackendInfo {
  readonly name: BackendName;
  /** Human-readable device, e.g. `CPU (wasm SIMD, 2 threads)` or the GPU's name. */
  readonly device: string;
  /** Compute threads of the backend (wasm: XNNPACK's pool); 0 where TensorFlow decides. */
  readonly threads: number;
  /** Why earlier candidates of `auto` were skipped, for the log. */
  readonly skipped: readonly string[];
  /** Why fewer threads run than were asked for (wasm), already logged; absent when all run. */
  readonly threadsFallback?: string;
}

export interface BackendOptions {
  /** Threads for the wasm backend. Default: `FILTERSCOPE_THREADS`, else the number of cores. */
  readonly threads?: number;
  /** Where warnings go (a thread fallback). Default `console.warn`. */
  readonly log?: (message: string) => void;
}

/** Module loader, replaceable in tests to make native imports fail. */
export type ModuleLoader = (id: string) => unknown;
// A synchronous CommonJS require: the native packages are optional and may be absent.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const defaultLoader: ModuleLoader = (id) => require(id);

const ORDER: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

/**
 * Loads and activates a backend. With `auto`, failures fall through to the next candidate and are
 * listed in `skipped`; with an explicit choice, a failure throws with its cause. The wasm
 * backend starts multi-threaded (see wasm-threads.ts) with filterscope's training kernels.
 */
export async function initBackend(
  choice: BackendChoice = 'auto',
  load: ModuleLoader = defaultLoader,
  options: BackendOptions = {},
): Promise<BackendInfo> {
  const candidates = choice === 'auto' ? ORDER : [choice];
  const skipped: string[] = [];
  for (const name of candidates) {
    try {
      return { ...(await activate(name, load, options)), skipped };
    } catch (error) {
      if (choice !== 'auto') {
        throw new Error(`backend ${name} could not be loaded: ${(error as Error).message}`, {
          cause: error,
        });
      }
      skipped.push(`${name}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(`no backend could be loaded (${skipped.join('; ')})`);
}

async function activate(
  name: BackendName,
  load: ModuleLoader,
  options: BackendOptions,
): Promise<Omit<BackendInfo, 'skipped'>> {
  switch (name) {
    case 'tensorflow-gpu':
    case 'tensorflow': {
      load(name === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node');
      await setBackendOrThrow('tensorflow');
      return {
        name,
        device: name === 'tensorflow-gpu' ? 'GPU (CUDA)' : 'CPU (native TensorFlow)',
        threads: 0,
      };
    }
    case 'wasm': {
      const pkg = load('@tensorflow/tfjs-backend-wasm') as WasmBackendPackage;
      const started = await startWasmBackend(pkg, {
        threads: options.threads ?? threadsFromEnv(),
        log: options.log,
      });
      registerWasmTrainingKernels();
      const threads = `${started.threads} thread${started.threads === 1 ? '' : 's'}`;
      return {
        name,
        device: `CPU (wasm${started.simd ? ' SIMD' : ''}, ${threads})`,
        threads: started.threads,
        ...(started.fallbackReason ? { threadsFallback: started.fallbackReason } : {}),
      };
    }
    case 'cpu':
      await setBackendOrThrow('cpu');
      return { name, device: 'CPU (plain JavaScript)', threads: 1 };
  }
}

async function setBackendOrThrow(name: string): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`tf.setBackend('${name}') returned false`);
  await tf.ready();
}
