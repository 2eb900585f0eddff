import { resolve } from 'node:path';
import { BACKEND_CHOICES, type BackendChoice, parseAllowSoftware } from './contract/backends.js';
import { FROZEN_RUNTIME_CHOICES, type FrozenRuntimeChoice } from './contract/frozen-runtime.js';

/** Everything filterscope reads from the environment, typed and validated in one place. */
export interface Config {
  /** HTTP and WebSocket port. `PORT`, default 4000; 0 picks a free port. */
  readonly port: number;
  /** Interface to bind. `HOST`, default 127.0.0.1 (loopback only). */
  readonly host: string;
  /** PostgreSQL URL (`DATABASE_URL`); unset means embedded PGlite under `home`. */
  readonly databaseUrl: string | null;
  /** `FILTERSCOPE_HOME`, default ./.filterscope: the embedded database lives in `home/pgdata`. */
  readonly home: string;
  /** `FILTERSCOPE_DATA`: colon-separated folders searched for dataset files before /usr/share/datasets. */
  readonly dataPath: string | undefined;
  /** `FILTERSCOPE_RUNNERS`: embedded job runners in `serve` (default 1; 0 = API only). */
  readonly runners: number;
  /** `FILTERSCOPE_BACKEND`: compute backend, default auto. */
  readonly backend: BackendChoice;
  /**
   * `FILTERSCOPE_WEBGPU_ALLOW_SOFTWARE`: whether the webgpu backend may take a software adapter
   * (Mesa llvmpipe); default false, so a GPU host without its driver fails loudly.
   */
  readonly webgpuAllowSoftware: boolean;
  /** `FILTERSCOPE_MAX_PARAMETERS`: largest architecture accepted, default 200,000,000. */
  readonly maxParameters: number;
  /** `FILTERSCOPE_LOG_LEVEL`: debug | info | warn | error, default info. */
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** `FILTERSCOPE_API_KEYS`: when not empty, every request needs one of these keys. */
  readonly apiKeys: readonly ApiKey[];
  /** `FILTERSCOPE_MAX_QUEUED_JOBS`: queued jobs one key may have at once, default 20. */
  readonly maxQueuedJobs: number;
  /** `FILTERSCOPE_LAUNCHES_PER_MINUTE`: startTraining/startProbe calls per key per minute, default 30. */
  readonly launchesPerMinute: number;
  /** `FILTERSCOPE_PROBE_DISK_BYTES`: disk a probe may fill with features that do not fit in memory, default 32 GiB; 0 never spills. */
  readonly probeDiskBytes: number;
  /** `FILTERSCOPE_PROBE_SPILL`: how spilled features are stored, `float16` (default) or `float32`. */
  readonly probeSpill: 'float16' | 'float32';
  /** `FILTERSCOPE_FROZEN_RUNTIME`: what runs a probe's frozen pass, `auto` (default), `onnxruntime` or `tfjs`. */
  readonly frozenRuntime: FrozenRuntimeChoice;
  /** `FILTERSCOPE_MAX_UPLOAD_BYTES`: largest network upload (/import), all files together, default 1 GiB. */
  readonly maxUploadBytes: number;
  /** `FILTERSCOPE_MAX_SUBSCRIPTIONS`: concurrent operations per WebSocket connection, default 50. */
  readonly maxSubscriptions: number;
}

/** A client key: `write` may run mutations, `read` may only query and subscribe. */
export interface ApiKey {
  /** Shown in logs and metrics instead of the secret. */
  readonly name: string;
  readonly secret: string;
  readonly role: 'read' | 'write';
}

/**
 * Every environment variable filterscope reads, with its meaning: the README's table and the
 * container files are checked against this list.
 */
export const ENVIRONMENT: Readonly<Record<string, string>> = {
  PORT: 'HTTP and WebSocket port (default 4000; 0 picks a free port)',
  HOST: 'interface to bind (default 127.0.0.1: loopback only)',
  DATABASE_URL: 'PostgreSQL URL; unset: embedded PGlite under FILTERSCOPE_HOME',
  FILTERSCOPE_HOME: 'folder of the embedded database and the pid lock (default ./.filterscope)',
  FILTERSCOPE_DATA: 'colon-separated folders searched for dataset files before /usr/share/datasets',
  FILTERSCOPE_RUNNERS: 'job runners inside `serve` (default 1; 0 = API only)',
  FILTERSCOPE_BACKEND:
    'compute backend: auto | tensorflow-gpu | webgpu | tensorflow | wasm | cpu (default auto)',
  FILTERSCOPE_WEBGPU_ALLOW_SOFTWARE:
    'webgpu may run on a software adapter (Mesa llvmpipe): 1 or 0 (default 0: hardware GPUs only)',
  EGL_PLATFORM:
    "Mesa's EGL platform; set to surfaceless when FILTERSCOPE_WEBGPU_ALLOW_SOFTWARE=1 and it is unset",
  FILTERSCOPE_THREADS: 'wasm threads per engine (default: the cores, at most 8)',
  FILTERSCOPE_MAX_PARAMETERS: 'largest architecture accepted, in parameters (default 200,000,000)',
  FILTERSCOPE_LEASE_MS: 'job lease: a runner silent this long loses its job (default 30000)',
  FILTERSCOPE_LOG_LEVEL: 'debug | info | warn | error (default info)',
  FILTERSCOPE_API_KEY: '`filterscope reproduce` only: the key it sends (instead of --api-key)',
  FILTERSCOPE_MAX_QUEUED_JOBS: 'queued jobs one API key may have at once (default 20)',
  FILTERSCOPE_LAUNCHES_PER_MINUTE:
    'startTraining/startProbe calls per API key per minute, bursts included (default 30)',
  FILTERSCOPE_MAX_SUBSCRIPTIONS: 'concurrent subscriptions per WebSocket connection (default 50)',
  FILTERSCOPE_PROBE_DISK_BYTES:
    'disk a probe may fill (under FILTERSCOPE_HOME/probe-features) with frozen features that do not fit in memory, bytes (default 34359738368; 0 never spills)',
  FILTERSCOPE_PROBE_SPILL:
    '`float16` (default) or `float32`: how spilled probe features are stored',
  FILTERSCOPE_FROZEN_RUNTIME:
    "what runs a probe's frozen forward pass: auto | onnxruntime | tfjs (default auto: the backend on a GPU, else onnxruntime-node's CPU kernels when installed, else the backend)",
  FILTERSCOPE_MAX_UPLOAD_BYTES:
    'largest network upload to /import, model and weight files together, bytes (default 1073741824)',
  FILTERSCOPE_API_KEYS:
    'comma-separated keys, each `[name=]secret[:read|:write]` (default role write); unset: no keys, loopback only',
};

const SECRET = /^[A-Za-z0-9._~+/-]{16,256}$/;
const KEY_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** Parses `FILTERSCOPE_API_KEYS`: `[name=]secret[:read|:write]`, comma-separated. */
export function parseApiKeys(raw: string | undefined): ApiKey[] {
  if (raw === undefined || raw.trim() === '') return [];
  const keys: ApiKey[] = [];
  const entries = raw.split(',').map((entry) => entry.trim());
  entries.forEach((entry, i) => {
    const bad = (why: string) =>
      new ConfigError(
        'FILTERSCOPE_API_KEYS',
        `entry ${i + 1}`,
        `[name=]secret[:read|:write]: ${why}`,
      );
    const eq = entry.indexOf('=');
    const name = eq >= 0 ? entry.slice(0, eq) : `key${i + 1}`;
    let rest = eq >= 0 ? entry.slice(eq + 1) : entry;
    let role: ApiKey['role'] = 'write';
    const colon = rest.lastIndexOf(':');
    if (colon >= 0) {
      const suffix = rest.slice(colon + 1);
      if (suffix !== 'read' && suffix !== 'write')
        throw bad(`role ${JSON.stringify(suffix)} is not read or write`);
      role = suffix;
      rest = rest.slice(0, colon);
    }
    if (!KEY_NAME.test(name))
      throw bad(`name ${JSON.stringify(name)} must be 1-64 letters, digits, _ . -`);
    // The secret is never echoed back, not even in this error.
    if (!SECRET.test(rest))
      throw bad('a secret must be 16-256 characters of A-Z a-z 0-9 . _ ~ + / -');
    if (keys.some((k) => k.name === name)) throw bad(`name ${name} is used twice`);
    if (keys.some((k) => k.secret === rest)) throw bad('the same secret appears twice');
    keys.push({ name, secret: rest, role });
  });
  return keys;
}

export class ConfigError extends Error {
  constructor(variable: string, value: string, expected: string) {
    super(`${variable}=${JSON.stringify(value)} is invalid: expected ${expected}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(name, raw, `an integer from ${min} to ${max}`);
  }
  return value;
}

function oneOf<T extends string>(env: Env, name: string, choices: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(choices as readonly string[]).includes(raw)) {
    throw new ConfigError(name, raw, `one of ${choices.join(', ')}`);
  }
  return raw as T;
}

function allowSoftware(env: Env): boolean {
  const raw = env.FILTERSCOPE_WEBGPU_ALLOW_SOFTWARE;
  try {
    return parseAllowSoftware(raw);
  } catch {
    throw new ConfigError(
      'FILTERSCOPE_WEBGPU_ALLOW_SOFTWARE',
      raw ?? '',
      '1 or 0 (true/false, yes/no)',
    );
  }
}

/** Reads and validates the configuration; throws `ConfigError` naming the variable and value. */
export function loadConfig(env: Env = process.env): Config {
  const databaseUrl = env.DATABASE_URL && env.DATABASE_URL.length > 0 ? env.DATABASE_URL : null;
  if (databaseUrl !== null && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL', databaseUrl, 'a postgres:// or postgresql:// URL');
  }
  return {
    port: integer(env, 'PORT', 4000, 0, 65535),
    host: env.HOST && env.HOST.length > 0 ? env.HOST : '127.0.0.1',
    databaseUrl,
    home: resolve(
      env.FILTERSCOPE_HOME && env.FILTERSCOPE_HOME.length > 0
        ? env.FILTERSCOPE_HOME
        : '.filterscope',
    ),
    dataPath: env.FILTERSCOPE_DATA,
    runners: integer(env, 'FILTERSCOPE_RUNNERS', 1, 0, 64),
    backend: oneOf(env, 'FILTERSCOPE_BACKEND', BACKEND_CHOICES, 'auto'),
    webgpuAllowSoftware: allowSoftware(env),
    maxParameters: integer(env, 'FILTERSCOPE_MAX_PARAMETERS', 200_000_000, 1, 2_000_000_000),
    logLevel: oneOf(
      env,
      'FILTERSCOPE_LOG_LEVEL',
      ['debug', 'info', 'warn', 'error'] as const,
      'info',
    ),
    apiKeys: parseApiKeys(env.FILTERSCOPE_API_KEYS),
    maxQueuedJobs: integer(env, 'FILTERSCOPE_MAX_QUEUED_JOBS', 20, 1, 1_000_000),
    launchesPerMinute: integer(env, 'FILTERSCOPE_LAUNCHES_PER_MINUTE', 30, 1, 1_000_000),
    maxSubscriptions: integer(env, 'FILTERSCOPE_MAX_SUBSCRIPTIONS', 50, 1, 10_000),
    maxUploadBytes: integer(env, 'FILTERSCOPE_MAX_UPLOAD_BYTES', 2 ** 30, 1, 2 ** 34),
    probeDiskBytes: integer(env, 'FILTERSCOPE_PROBE_DISK_BYTES', 2 ** 35, 0, 2 ** 50),
    probeSpill: oneOf(env, 'FILTERSCOPE_PROBE_SPILL', ['float16', 'float32'] as const, 'float16'),
    frozenRuntime: oneOf(env, 'FILTERSCOPE_FROZEN_RUNTIME', FROZEN_RUNTIME_CHOICES, 'auto'),
  };
}
