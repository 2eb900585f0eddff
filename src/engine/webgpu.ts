import { isMainThread } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { SOFTWARE_EGL_PLATFORM } from './webgpu-env.js';

/**
 * The webgpu backend under Node: `@tensorflow/tfjs-backend-webgpu` on Dawn, through the npm
 * `webgpu` package (Dawn's Node binding; it loads Vulkan, or EGL/OpenGL ES, at run time).
 *
 * - A hardware adapter comes from Dawn's default instance (Vulkan on Linux: the Vulkan loader,
 *   libvulkan.so.1, and the GPU driver's ICD file). Software adapters are refused unless allowed,
 *   so that a GPU host whose driver is not reachable fails loudly instead of training on a
 *   rasteriser at a thousandth of the speed.
 * - With `allowSoftware`, Mesa llvmpipe is reached through Dawn's OpenGL ES backend in WebGPU's
 *   compatibility mode. Dawn refuses Mesa's lavapipe (software Vulkan), whose dynamic indexing
 *   of uniform arrays it requires. This is how the tests and CI run this backend.
 * - The backend is registered here rather than by the package: the package registers its own
 *   factory only when `navigator.gpu` exists at import, and that factory asks for a default
 *   adapter, which under Dawn's GLES backend needs the compatibility feature level.
 *
 * `dataSync()`/`readSync` throw in Node on this backend (they read through OffscreenCanvas):
 * everything the engine reads from tensors is read with `await data()`.
 */

/** The part of the `webgpu` package used here: Dawn's `create(toggles)` and its globals. */
export interface DawnPackage {
  create(options: string[]): GpuLike;
  /** GPUBufferUsage, GPUMapMode, GPUShaderStage...: the backend uses them as globals. */
  readonly globals: object;
}

/** The part of the `@tensorflow/tfjs-backend-webgpu` package used here. */
export interface WebgpuBackendPackage {
  WebGPUBackend: new (device: never, adapterInfo?: never) => tf.KernelBackend;
}

/** WebGPU's `GPU`, as far as it is used here. */
export interface GpuLike {
  requestAdapter(options?: Record<string, unknown>): Promise<AdapterLike | null>;
}

interface AdapterLike {
  readonly info: AdapterInfoLike;
  readonly limits: Readonly<Record<string, number>>;
  readonly features: { has(name: string): boolean };
  requestDevice(descriptor?: Record<string, unknown>): Promise<DeviceLike>;
}

interface DeviceLike {
  readonly lost: Promise<{ reason: string; message: string }>;
  destroy(): void;
}

/** `GPUAdapterInfo` fields (Dawn fills `device` and `description`; vendor may be empty). */
export interface AdapterInfoLike {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  readonly isFallbackAdapter?: boolean;
}

/** The adapter the backend runs on, as a run records it. */
export interface AdapterDescription {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  /** A software rasteriser (llvmpipe, lavapipe, SwiftShader) or WebGPU's fallback adapter. */
  readonly software: boolean;
  /** The Dawn backend it was found through. */
  readonly api: 'Vulkan' | 'OpenGL ES';
}

export interface WebgpuStartOptions {
  /** Whether a software adapter may be used when no hardware one is found. Default false. */
  readonly allowSoftware?: boolean;
  /** Where warnings go (a lost device). Default `console.warn`. */
  readonly log?: (message: string) => void;
  /** Longest wait for Dawn to answer an adapter or device request. Default 30 s. */
  readonly timeoutMs?: number;
}

export interface WebgpuStarted {
  readonly adapter: AdapterDescription;
  /** What a run records as its device, e.g. `WebGPU hardware adapter: NVIDIA H100 ...`. */
  readonly device: string;
}

const SOFTWARE_NAMES = /llvmpipe|lavapipe|softpipe|swiftshader|software|basic render/i;

/** Whether an adapter is a software rasteriser. */
export function isSoftwareAdapter(info: AdapterInfoLike): boolean {
  return (
    info.isFallbackAdapter === true || SOFTWARE_NAMES.test(`${info.device} ${info.description}`)
  );
}

/**
 * The device string of a run on this adapter, naming its vendor, architecture and device and
 * whether it is software, e.g.
 * `WebGPU hardware adapter: NVIDIA H100 80GB HBM3 (vendor nvidia, architecture hopper; Vulkan)`.
 */
export function describeAdapter(adapter: AdapterDescription): string {
  const name = adapter.device || adapter.description || 'unnamed device';
  const vendor = adapter.vendor || 'unknown';
  const architecture = adapter.architecture || 'unknown';
  const kind = adapter.software ? 'software' : 'hardware';
  return `WebGPU ${kind} adapter: ${name} (vendor ${vendor}, architecture ${architecture}; ${adapter.api})`;
}

/** Why no adapter was taken; the message says what the host lacks. */
export class NoAdapterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoAdapterError';
  }
}

let started: WebgpuStarted | null = null;

/** Whether the webgpu backend is registered with tfjs and has been started by this module. */
export function webgpuStarted(): WebgpuStarted | null {
  return started && tf.findBackend('webgpu') ? started : null;
}

/**
 * Makes `webgpu` the active tfjs backend on a hardware adapter, or on Mesa llvmpipe when
 * `allowSoftware` is set and no hardware adapter exists. A backend started earlier is reused as
 * it is (remove it first, `tf.removeBackend('webgpu')`, to choose again). Throws a
 * `NoAdapterError` saying what was found and what the host needs.
 */
export async function startWebgpuBackend(
  dawn: DawnPackage,
  pkg: WebgpuBackendPackage,
  options: WebgpuStartOptions = {},
): Promise<WebgpuStarted> {
  const reused = webgpuStarted();
  if (reused) {
    await setBackendOrThrow();
    return reused;
  }
  const timeoutMs = options.timeoutMs ?? 30_000;
  const log = options.log ?? ((message: string) => console.warn(message));
  const found = await findAdapter(dawn, options.allowSoftware === true, timeoutMs);
  const device = await within(
    found.adapter.requestDevice({ requiredLimits: requiredLimits(found.adapter) }),
    timeoutMs,
    'requestDevice',
  );
  void device.lost.then((lost) => {
    // `destroyed` is the backend being disposed; anything else ends every later kernel.
    if (lost.reason !== 'destroyed') log(`webgpu device lost (${lost.reason}): ${lost.message}`);
  });
  exposeGlobals(dawn, found.gpu);
  if (tf.findBackendFactory('webgpu') as unknown) tf.removeBackend('webgpu');
  // The device is created here, once: the factory only wraps it, so tfjs sees no async setup.
  tf.registerBackend(
    'webgpu',
    () => new pkg.WebGPUBackend(device as never, found.adapter.info as never),
    0,
  );
  started = { adapter: found.description, device: describeAdapter(found.description) };
  await setBackendOrThrow();
  return started;
}

/** Tries Dawn's default (Vulkan) instance, then, when allowed, the OpenGL ES one. */
async function findAdapter(
  dawn: DawnPackage,
  allowSoftware: boolean,
  timeoutMs: number,
): Promise<{ gpu: GpuLike; adapter: AdapterLike; description: AdapterDescription }> {
  const gpu = dawn.create([]);
  const hardware = await within(
    gpu.requestAdapter({ powerPreference: 'high-performance' }),
    timeoutMs,
    'requestAdapter',
  );
  let refused: string | null = null;
  if (hardware) {
    const description = describe(hardware.info, 'Vulkan');
    if (!description.software) return { gpu, adapter: hardware, description };
    refused = `Dawn's Vulkan backend offered only a software adapter (${description.device || description.description})`;
  }
  const hardwareMissing =
    refused ??
    "Dawn's Vulkan backend found no adapter (it needs libvulkan.so.1, the Vulkan loader, and the GPU driver's Vulkan ICD file, e.g. the NVIDIA driver's nvidia_icd.json)";
  if (!allowSoftware) {
    throw new NoAdapterError(
      `no hardware WebGPU adapter: ${hardwareMissing}; software adapters are used only with FILTERSCOPE_WEBGPU_ALLOW_SOFTWARE=1`,
    );
  }
  if (isMainThread) process.env.EGL_PLATFORM ??= SOFTWARE_EGL_PLATFORM;
  const gles = dawn.create(['backend=opengles']);
  const software = await within(
    gles.requestAdapter({ featureLevel: 'compatibility' }),
    timeoutMs,
    'requestAdapter',
  );
  if (!software) {
    const platform = process.env.EGL_PLATFORM;
    throw new NoAdapterError(
      `no WebGPU adapter: ${hardwareMissing}, and Dawn's OpenGL ES backend found none either (it needs Mesa's EGL and llvmpipe: libEGL.so from libegl-dev, libegl-mesa0 and libgl1-mesa-dri; EGL_PLATFORM is ${platform === undefined ? 'unset in this thread' : JSON.stringify(platform)}, and without a display it must be ${SOFTWARE_EGL_PLATFORM} in the process environment before the engine starts)`,
    );
  }
  return { gpu: gles, adapter: software, description: describe(software.info, 'OpenGL ES') };
}

function describe(info: AdapterInfoLike, api: AdapterDescription['api']): AdapterDescription {
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    software: isSoftwareAdapter(info),
    api,
  };
}

/**
 * The adapter's own limits for what the backend's programs use: WebGPU's defaults (16 KiB of
 * workgroup memory, 128 MiB storage bindings) are far below a large GPU's, and a device only
 * gets what it asks for. The same list as the package's own factory.
 */
function requiredLimits(adapter: AdapterLike): Record<string, number> {
  const names = [
    'maxComputeWorkgroupStorageSize',
    'maxComputeWorkgroupsPerDimension',
    'maxStorageBufferBindingSize',
    'maxBufferSize',
    'maxComputeWorkgroupSizeX',
    'maxComputeInvocationsPerWorkgroup',
  ];
  const limits: Record<string, number> = {};
  for (const name of names) {
    const value = adapter.limits[name];
    if (typeof value === 'number') limits[name] = value;
  }
  return limits;
}

/**
 * The browser globals the backend expects: `navigator.gpu` (its constructor checks it) and
 * Dawn's constants (GPUBufferUsage...). Node 20 has no `navigator`; Node 21+ has one without
 * `gpu`.
 */
function exposeGlobals(dawn: DawnPackage, gpu: GpuLike): void {
  const global = globalThis as Record<string, unknown>;
  for (const [name, value] of Object.entries(dawn.globals)) {
    if (!(name in global)) global[name] = value;
  }
  if (global.navigator === undefined) {
    global.navigator = { gpu };
  } else {
    Object.defineProperty(global.navigator, 'gpu', { value: gpu, configurable: true });
  }
}

async function setBackendOrThrow(): Promise<void> {
  const ok = await tf.setBackend('webgpu');
  if (!ok) throw new Error("tf.setBackend('webgpu') returned false");
  await tf.ready();
}

/** `promise`, or an error naming `what` once `ms` have passed. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new NoAdapterError(`${what} did not answer within ${ms} ms`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
