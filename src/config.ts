import { resolve } from 'node:path';

/** Compute backends (engine/backend.ts); listed here so the API process never loads TensorFlow.js. */
export const BACKEND_CHOICES = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

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
  /** `FILTERSCOPE_MAX_PARAMETERS`: largest architecture accepted, default 200,000,000. */
  readonly maxParameters: number;
  /** `FILTERSCOPE_LOG_LEVEL`: debug | info | warn | error, default info. */
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
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
    maxParameters: integer(env, 'FILTERSCOPE_MAX_PARAMETERS', 200_000_000, 1, 2_000_000_000),
    logLevel: oneOf(
      env,
      'FILTERSCOPE_LOG_LEVEL',
      ['debug', 'info', 'warn', 'error'] as const,
      'info',
    ),
  };
}
