import { isMainThread } from 'node:worker_threads';
import { parseAllowSoftware } from '../contract/backends.js';

/**
 * The process environment the webgpu backend's software adapter needs, set before any engine
 * thread starts. No TensorFlow.js here: the runner side (port.ts) calls it on the main thread.
 *
 * Dawn's OpenGL ES backend opens Mesa's EGL with the default display. Mesa picks its platform
 * from `EGL_PLATFORM` when EGL first runs, and without a display server (a server, CI) only
 * `surfaceless` initialises (x11 and wayland fail with EGL_NOT_INITIALIZED). Native code reads
 * the real environment, which Node sets only from the main thread: a worker thread's
 * `process.env` is a copy that native code never sees. So the main thread sets it, and engine
 * threads started afterwards inherit it.
 */

/** The EGL platform Mesa initialises without a display. */
export const SOFTWARE_EGL_PLATFORM = 'surfaceless';

/**
 * When `env` allows the software adapter (`FILTERSCOPE_WEBGPU_ALLOW_SOFTWARE`) and `EGL_PLATFORM`
 * is unset, sets it to `surfaceless` in the real environment (main thread only; a worker's
 * assignment would not reach native code). Returns whether `EGL_PLATFORM` is now set in the
 * process. An invalid `FILTERSCOPE_WEBGPU_ALLOW_SOFTWARE` does nothing here: the engine reports
 * it when it starts the backend.
 */
export function prepareSoftwareAdapterEnvironment(
  env: Readonly<Record<string, string | undefined>> = process.env,
): boolean {
  let allowed: boolean;
  try {
    allowed = parseAllowSoftware(env.FILTERSCOPE_WEBGPU_ALLOW_SOFTWARE);
  } catch {
    return false;
  }
  if (!allowed || !isMainThread) return process.env.EGL_PLATFORM !== undefined;
  process.env.EGL_PLATFORM ??= SOFTWARE_EGL_PLATFORM;
  return true;
}
