import { existsSync, readdirSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import type { BackendChoice, BackendName } from '../contract/backends.js';
import { parseAllowSoftware } from '../contract/backends.js';
import { registerWasmTrainingKernels } from './kernels/index.js';
import { registerWebgpuTrainingKernels } from './kernels/webgpu/index.js';
import type { WasmBackendPackage } from './wasm-threads.js';
import { startWasmBackend, threadsFromEnv } from './wasm-threads.js';
import type { DawnPackage, WebgpuBackendPackage } from './webgpu.js';
import { startWebgpuBackend } from './webgpu.js';

/**
 * Compute backend selection. `auto` takes the first of tensorflow-gpu, webgpu, tensorflow, wasm,
 * cpu that loads. The chosen backend and device are reported so that every run records them.
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
  /**
   * Whether an explicit `webgpu` may run on a software adapter (Mesa llvmpipe). Default:
   * `FILTERSCOPE_WEBGPU_ALLOW_SOFTWARE`, else false. `auto` never takes a software adapter.
   */
  readonly allowSoftware?: boolean;
  /**
   * Folders whose entries show a GPU to `auto` (default /dev: `nvidia*`, `dri/renderD*`): `auto`
   * asks Dawn for an adapter only where one of them exists.
   */
  readonly deviceRoot?: string;
  /** Where warnings go (a thread fallback, a GPU that WebGPU cannot use). Default `console.warn`. */
  readonly log?: (message: string) => void;
}

/** Module loader, replaceable in tests to make native imports fail. */
export type ModuleLoader = (id: string) => unknown;
// A synchronous CommonJS require: the native packages are optional and may be absent.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const defaultLoader: ModuleLoader = (id) => require(id);

const ORDER: readonly BackendName[] = ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'];

/**
 * Loads and activates a backend. With `auto`, failures fall through to the next candidate and are
 * listed in `skipped`; with an explicit choice, a failure throws with its cause. The wasm
 * backend starts multi-threaded (see wasm-threads.ts) with filterscope's training kernels; the
 * webgpu backend takes a hardware adapter only (see webgpu.ts), with its own training kernels.
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
      if (choice === 'auto' && name === 'webgpu') {
        const gpu = gpuDeviceNode(options.deviceRoot ?? '/dev');
        // Without a GPU device Dawn has nothing to find, and asking prints its own warnings.
        if (!gpu) throw new Error('no GPU device (/dev/nvidia*, /dev/dri/renderD*)');
        try {
          return { ...(await activate(name, load, { ...options, allowSoftware: false })), skipped };
        } catch (error) {
          // A GPU is there but cannot be used: a misconfigured GPU host, worth a line in the log.
          const log = options.log ?? ((message: string) => console.warn(message));
          log(
            `backend auto: ${gpu} exists but webgpu cannot use it, trying the next backend: ${(error as Error).message}`,
          );
          throw error;
        }
      }
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
    case 'webgpu': {
      const dawn = loadDawn(load);
      const pkg = load('@tensorflow/tfjs-backend-webgpu') as WebgpuBackendPackage;
      const started = await startWebgpuBackend(dawn, pkg, {
        allowSoftware:
          options.allowSoftware ??
          parseAllowSoftware(process.env.FILTERSCOPE_WEBGPU_ALLOW_SOFTWARE),
        log: options.log,
      });
      registerWebgpuTrainingKernels();
      return { name, device: started.device, threads: 0 };
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

/**
 * The `webgpu` package. Its entry is an ES module, which `require` loads from Node 20.19 on but
 * not in older Node nor in jest's module registry: there, Dawn's binding is loaded directly (the
 * entry adds only a fix for buffers left mapped by `GPUDevice.destroy()`).
 */
function loadDawn(load: ModuleLoader): DawnPackage {
  try {
    return load('webgpu') as DawnPackage;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== 'ERR_REQUIRE_ESM' && !(error instanceof SyntaxError)) throw error;
    const arch = process.platform === 'darwin' ? 'universal' : process.arch;
    return load(`webgpu/dist/${process.platform}-${arch}/dawn.node`) as DawnPackage;
  }
}

/** The first GPU device node under `root` (NVIDIA's, or a DRM render node), or null. */
function gpuDeviceNode(root: string): string | null {
  const first = (dir: string, pattern: RegExp): string | null => {
    if (!existsSync(dir)) return null;
    const name = readdirSync(dir).find((entry) => pattern.test(entry));
    return name === undefined ? null : `${dir}/${name}`;
  };
  return first(root, /^nvidia\d+$/) ?? first(`${root}/dri`, /^renderD\d+$/);
}
