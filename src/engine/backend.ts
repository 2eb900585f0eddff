import * as tf from '@tensorflow/tfjs';

/**
 * Compute backend selection. `auto` takes the first of tensorflow-gpu, tensorflow, wasm, cpu
 * that loads. The chosen backend and device are reported so that every run records them.
 */

export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
export type BackendChoice = 'auto' | BackendName;
export const BACKEND_CHOICES: readonly BackendChoice[] = [
  'auto',
  'tensorflow-gpu',
  'tensorflow',
  'wasm',
  'cpu',
];

export interface BackendInfo {
  readonly name: BackendName;
  /** Human-readable device, e.g. `CPU (wasm SIMD, 2 threads)` or the GPU's name. */
  readonly device: string;
  readonly threads: number;
  /** Why earlier candidates of `auto` were skipped, for the log. */
  readonly skipped: readonly string[];
}

/** Module loader, replaceable in tests to make native imports fail. */
export type ModuleLoader = (id: string) => unknown;
const defaultLoader: ModuleLoader = (id) => require(id);

const ORDER: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

/**
 * Loads and activates a backend. With `auto`, failures fall through to the next candidate and are
 * listed in `skipped`; with an explicit choice, a failure throws with its cause.
 */
export async function initBackend(
  choice: BackendChoice = 'auto',
  load: ModuleLoader = defaultLoader,
): Promise<BackendInfo> {
  const candidates = choice === 'auto' ? ORDER : [choice];
  const skipped: string[] = [];
  for (const name of candidates) {
    try {
      return { ...(await activate(name, load)), skipped };
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
      load('@tensorflow/tfjs-backend-wasm');
      await setBackendOrThrow('wasm');
      return { name, device: 'CPU (wasm)', threads: 1 };
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
