import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vm from 'node:vm';
import * as tf from '@tensorflow/tfjs';

/**
 * The multi-threaded build of tfjs-backend-wasm, under Node.
 *
 * tfjs switches that build off in Node (tfjs issue #3830): it hands Emscripten Blob URLs for the
 * pthread worker script and for its own source, which `worker_threads` cannot load, and its C++
 * side caps the pool at half the logical cores (1 on a 2-core machine). The package ships the
 * pieces unbundled, so this module starts that build itself:
 * - the worker script (`wasm-out/...worker.js`, a string export) is written to a file in the
 *   temporary folder, named by a hash of its content;
 * - the workers import the Emscripten glue (`wasm-out/...threaded-simd.js`) from its file;
 * - the glue's `emscripten_num_logical_cores` import reports twice the wanted threads, so the
 *   C++ cap (cores / 2) lets them all run;
 * - the module is wrapped in the package's own `BackendWasm`, so every registered wasm kernel
 *   (and filterscope's) runs on it unchanged, under the backend name `wasm`.
 * When any step fails, the stock single-threaded build starts instead and the reason is kept.
 */

/** The part of `@tensorflow/tfjs-backend-wasm` used here. */
export interface WasmBackendPackage {
  BackendWasm: new (module: never) => tf.KernelBackend;
  setThreadsCount(threads: number): void;
  getThreadsCount(): number;
}

/** What the wasm backend runs with, once started. */
export interface WasmStarted {
  /** Threads in XNNPACK's pool, the calling thread included. */
  readonly threads: number;
  readonly simd: boolean;
  /** Why fewer threads run than were asked for; null when all of them run. */
  readonly fallbackReason: string | null;
}

export interface WasmStartOptions {
  /** Threads wanted, >= 1. */
  readonly threads: number;
  /** Where the fallback reason is logged. Default `console.warn`. */
  readonly log?: (message: string) => void;
  /** Longest wait for the threaded build to start before falling back. Default 60 s. */
  readonly timeoutMs?: number;
}

/** Threads the threaded build can run: Emscripten starts a pool of 8 workers (PTHREAD_POOL_SIZE). */
export const MAX_WASM_THREADS = 8;

/**
 * Threads wanted, from `FILTERSCOPE_THREADS` (a positive integer) or else the number of cores
 * (`os.availableParallelism()`). Throws on a value that is not a positive integer.
 */
export function threadsFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.FILTERSCOPE_THREADS?.trim();
  if (raw === undefined || raw === '') return os.availableParallelism();
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`FILTERSCOPE_THREADS must be a positive integer, got '${raw}'`);
  }
  return n;
}

let stockFactory: (() => tf.KernelBackend | Promise<tf.KernelBackend>) | null = null;
let ourFactory: (() => Promise<tf.KernelBackend>) | null = null;
let started: WasmStarted | null = null;

/**
 * Makes `wasm` the active tfjs backend, multi-threaded when `options.threads > 1`. The package
 * must have been imported (it registers the stock backend). When the wasm backend already
 * exists it is reused as it is and its current state is reported: remove it first
 * (`tf.removeBackend('wasm')`) to start it with other settings. Throws when neither the threaded
 * nor the stock build starts.
 */
export async function startWasmBackend(
  pkg: WasmBackendPackage,
  options: WasmStartOptions,
): Promise<WasmStarted> {
  const log = options.log ?? ((message: string) => console.warn(message));
  const wanted = Math.floor(options.threads);
  if (!(wanted >= 1)) throw new Error(`threads must be >= 1, got ${options.threads}`);
  if (!startedBackend('wasm')) {
    // Typed as always present; it is null when nothing is registered under that name.
    const current = tf.findBackendFactory('wasm') as ReturnType<
      typeof tf.findBackendFactory
    > | null;
    if (current && current !== ourFactory) stockFactory = current;
    if (!stockFactory) {
      throw new Error('the wasm backend is not registered: import @tensorflow/tfjs-backend-wasm');
    }
    const stock = stockFactory;
    started = null;
    const factory = async (): Promise<tf.KernelBackend> => {
      let reason: string | null = null;
      const threads = Math.min(wanted, MAX_WASM_THREADS);
      if (wanted > MAX_WASM_THREADS) {
        reason = `${wanted} threads asked for, the wasm build runs at most ${MAX_WASM_THREADS}`;
      }
      if (threads > 1) {
        try {
          const { backend, actual } = await startThreaded(
            pkg,
            threads,
            options.timeoutMs ?? 60_000,
          );
          if (actual < wanted) reason ??= `the wasm build started ${actual} of ${wanted} threads`;
          started = { threads: actual, simd: true, fallbackReason: reason };
          if (reason) log(`wasm backend: ${reason}`);
          return backend;
        } catch (error) {
          reason = `multi-threaded wasm failed, running 1 thread: ${(error as Error).message}`;
          log(`wasm backend: ${reason}`);
        }
      }
      const backend = await stock();
      const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
      started = { threads: pkg.getThreadsCount(), simd, fallbackReason: reason };
      return backend;
    };
    if (current) tf.removeBackend('wasm');
    ourFactory = factory;
    // Priority 2 is the stock wasm backend's.
    tf.registerBackend('wasm', factory, 2);
  }
  const ok = await tf.setBackend('wasm');
  if (!ok) throw new Error("tf.setBackend('wasm') returned false");
  await tf.ready();
  if (started) return started;
  // Started by someone else, through the stock factory.
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
  return { threads: pkg.getThreadsCount(), simd, fallbackReason: null };
}

/**
 * The backend instance named `name`, or undefined when none was created. (`tf.findBackend`
 * would start creating one from its factory as a side effect.)
 */
function startedBackend(name: string): tf.KernelBackend | undefined {
  return (tf.engine() as unknown as { registry: Record<string, tf.KernelBackend> }).registry[name];
}

/** The WebAssembly API as far as it is used here (tsconfig's lib has no DOM typings for it). */
interface WebAssemblyApi {
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => object;
  validate(bytes: Uint8Array): boolean;
  instantiate(
    bytes: Uint8Array,
    imports: object,
  ): Promise<{ instance: WasmInstance; module: WasmModule }>;
}
type WasmInstance = { readonly exports: object };
type WasmModule = object;
const WebAssembly = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

/** The Emscripten module of the threaded build, as far as it is used here. */
interface ThreadedModule {
  cwrap(name: string, returnType: string | null, argTypes: string[]): (...args: number[]) => number;
  tfjs?: Record<string, (...args: number[]) => number>;
  PThread?: {
    runningWorkers: Array<{ unref(): void }>;
    unusedWorkers: Array<{ terminate(): Promise<number> }>;
    terminateAllThreads(): void;
  };
}

interface FactoryConfig {
  locateFile(file: string, prefix: string): string;
  mainScriptUrlOrBlob: string;
  instantiateWasm(
    imports: { env: Record<string, unknown> },
    receive: (instance: WasmInstance, module: WasmModule) => void,
  ): object;
  onAbort(what: unknown): void;
  PThread?: ThreadedModule['PThread'];
}

/** Starts the threaded build with `threads` threads; rejects on failure or after `timeoutMs`. */
async function startThreaded(
  pkg: WasmBackendPackage,
  threads: number,
  timeoutMs: number,
): Promise<{ backend: tf.KernelBackend; actual: number }> {
  preflight();
  // Node's own require, also under jest: the Emscripten glue and the worker script are plain
  // files that load nothing of tfjs, and the workers read the same files from disk.
  const load = createRequire(__filename);
  const glue = load.resolve(
    '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js',
  );
  const dir = path.dirname(glue);
  const wasmFile = path.join(dir, 'tfjs-backend-wasm-threaded-simd.wasm');
  const { wasmWorkerContents } = load(
    path.join(dir, 'tfjs-backend-wasm-threaded-simd.worker.js'),
  ) as { wasmWorkerContents: string };
  // The string holds real newlines inside string literals; tfjs escapes them the same way.
  const workerSource = wasmWorkerContents.replace(/\n/g, '\\n');
  new vm.Script(workerSource, { filename: 'tfjs-backend-wasm-threaded-simd.worker.js' });
  const moduleFactory = load(glue) as (config: FactoryConfig) => Promise<ThreadedModule>;
  const wasmBytes = fs.readFileSync(wasmFile);

  const workerFile = writeWorkerScript(workerSource);
  let config: FactoryConfig | null = null;
  // The glue adds process-wide uncaughtException/unhandledRejection handlers that it removes
  // only when a started backend is disposed; a start that fails must remove them itself.
  const uncaughtBefore = new Set(process.listeners('uncaughtException'));
  const rejectionBefore = new Set(process.listeners('unhandledRejection'));
  let timer: NodeJS.Timeout | undefined;
  try {
    const module = await new Promise<ThreadedModule>((resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`its workers did not start within ${timeoutMs} ms`)),
        timeoutMs,
      );
      config = {
        locateFile: (file, prefix) =>
          file.endsWith('.worker.js')
            ? workerFile
            : file.endsWith('.wasm')
              ? wasmFile
              : prefix + file,
        // A path, not a Blob: the workers read it with fs and evaluate it.
        mainScriptUrlOrBlob: glue,
        instantiateWasm: (imports, receive) => {
          // XNNPACK's pool is capped at emscripten_num_logical_cores() / 2.
          imports.env.emscripten_num_logical_cores = () => 2 * threads;
          WebAssembly.instantiate(wasmBytes, imports).then(
            (result) => receive(result.instance, result.module),
            (error: unknown) => reject(error instanceof Error ? error : new Error(String(error))),
          );
          return {};
        },
        onAbort: (what) => reject(new Error(`the wasm module aborted: ${String(what)}`)),
      };
      moduleFactory(config).then(resolve, (error: unknown) =>
        reject(error instanceof Error ? error : new Error(JSON.stringify(error))),
      );
    });
    // The same bridge as the package's own init().
    module.tfjs = {
      init: module.cwrap('init', null, []),
      initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
      getThreadsCount: module.cwrap('get_threads_count', 'number', []),
      registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
      disposeData: module.cwrap('dispose_data', null, ['number']),
      dispose: module.cwrap('dispose', null, []),
    };
    pkg.setThreadsCount(threads);
    const backend = new pkg.BackendWasm(module as never);
    // Emscripten refs a worker while it runs a pthread; XNNPACK's pool threads run forever, so
    // they would keep the process alive after its work is done.
    module.PThread?.runningWorkers.forEach((worker) => worker.unref());
    // Emscripten starts 8 workers whatever the thread count (about 10 MB each); the pool has
    // taken what it needs. Should a thread start later, Emscripten starts a worker again.
    module.PThread?.unusedWorkers.splice(0).forEach((worker) => void worker.terminate());
    return { backend, actual: pkg.getThreadsCount() };
  } catch (error) {
    (config as FactoryConfig | null)?.PThread?.terminateAllThreads();
    for (const handler of process.listeners('uncaughtException')) {
      if (!uncaughtBefore.has(handler)) process.removeListener('uncaughtException', handler);
    }
    for (const handler of process.listeners('unhandledRejection')) {
      if (!rejectionBefore.has(handler)) process.removeListener('unhandledRejection', handler);
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Writes the pthread worker script to the temporary folder under a name that is a hash of its
 * content, once (processes sharing the folder share the file), and returns its path. The file
 * stays: Emscripten reads it again whenever it starts a worker.
 */
function writeWorkerScript(source: string): string {
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const file = path.join(os.tmpdir(), `filterscope-wasm-worker-${hash}.cjs`);
  if (!fs.existsSync(file)) {
    // Write then rename, so that no process ever reads a half-written file.
    const partial = `${file}.${process.pid}.${Date.now()}`;
    fs.writeFileSync(partial, source);
    fs.renameSync(partial, file);
  }
  return file;
}

/** Throws with a plain reason when this runtime cannot run threaded WebAssembly. */
function preflight(): void {
  if (typeof SharedArrayBuffer !== 'function') throw new Error('no SharedArrayBuffer');
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  } catch (error) {
    throw new Error(`no shared WebAssembly memory: ${(error as Error).message}`);
  }
  // The same probe as tfjs' WASM_HAS_SIMD_SUPPORT: the threaded build is a SIMD build.
  const simdProbe = new Uint8Array([
    0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 10, 9, 1, 7, 0, 65, 0, 253, 15, 26,
    11,
  ]);
  if (!WebAssembly.validate(simdProbe)) throw new Error('no WebAssembly SIMD');
}
