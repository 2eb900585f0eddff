/**
 * Compute backends by name: what `FILTERSCOPE_BACKEND` takes (config.ts), what the engine loads
 * (engine/backend.ts) and what runs record. `auto` takes the first of the others that loads.
 */
export const BACKEND_NAMES = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
export const BACKEND_CHOICES = ['auto', ...BACKEND_NAMES] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/** Narrows a setting to a backend choice. */
export const isBackendChoice = (value: string): value is BackendChoice =>
  (BACKEND_CHOICES as readonly string[]).includes(value);
