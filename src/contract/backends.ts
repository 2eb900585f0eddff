/**
 * Compute backends by name: what `FILTERSCOPE_BACKEND` takes (config.ts), what the engine loads
 * (engine/backend.ts) and what runs record. `auto` takes the first of the others that loads, in
 * this order: the GPU backends first, then the CPU ones.
 */
export const BACKEND_NAMES = ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
export const BACKEND_CHOICES = ['auto', ...BACKEND_NAMES] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/** Narrows a setting to a backend choice. */
export const isBackendChoice = (value: string): value is BackendChoice =>
  (BACKEND_CHOICES as readonly string[]).includes(value);

/** The values `FILTERSCOPE_WEBGPU_ALLOW_SOFTWARE` takes, and what each means. */
const SWITCH_VALUES: Readonly<Record<string, boolean>> = {
  '': false,
  '0': false,
  false: false,
  no: false,
  '1': true,
  true: true,
  yes: true,
};

/**
 * Reads `FILTERSCOPE_WEBGPU_ALLOW_SOFTWARE`: whether the webgpu backend may run on a software
 * adapter (Mesa llvmpipe through Dawn's OpenGL ES backend). Unset or empty: false, so that a GPU
 * host whose driver is not reachable fails instead of training on the CPU through a rasteriser.
 * Throws on anything but 1/0, true/false, yes/no (any case).
 */
export function parseAllowSoftware(raw: string | undefined): boolean {
  const value = SWITCH_VALUES[(raw ?? '').trim().toLowerCase()];
  if (value === undefined) {
    throw new Error(
      `FILTERSCOPE_WEBGPU_ALLOW_SOFTWARE must be 1 or 0 (or true/false, yes/no), got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}
