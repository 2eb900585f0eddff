import { existsSync } from 'node:fs';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker thread on `entry` (a path without extension). From compiled code it runs
 * `entry.js`; from the TypeScript sources (jest, ts tools) there is no .js file, so the thread
 * first installs a require hook that compiles .ts files with @swc/core (a devDependency, as
 * jest's own transform) and then loads `entry.ts`. `workerData.entry` is taken for that.
 */
export function startThread(
  entry: string,
  options: Pick<WorkerOptions, 'env' | 'resourceLimits'> & {
    readonly workerData: Record<string, unknown>;
  },
): Worker {
  const compiled = `${entry}.js`;
  const source = `${entry}.ts`;
  if (existsSync(compiled)) return new Worker(compiled, options);
  if (existsSync(source))
    return new Worker(TS_BOOTSTRAP, {
      ...options,
      eval: true,
      workerData: { ...options.workerData, entry: source },
    });
  throw new Error(`worker entry not found: neither ${compiled} nor ${source} exists`);
}

/**
 * Worker bootstrap for TypeScript sources: compile `.ts` with swc on require, resolve the
 * `./x.js` specifiers of nodenext sources to `./x.ts`, then load the entry.
 */
const TS_BOOTSTRAP = `
const Module = require('node:module');
const fs = require('node:fs');
const { workerData } = require('node:worker_threads');
const swc = Module.createRequire(workerData.entry)('@swc/core');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  try {
    return resolve.call(this, request, parent, ...rest);
  } catch (error) {
    if (request.endsWith('.js') && parent && parent.filename && parent.filename.endsWith('.ts')) {
      return resolve.call(this, request.slice(0, -3) + '.ts', parent, ...rest);
    }
    throw error;
  }
};
Module._extensions['.ts'] = function (module, filename) {
  const { code } = swc.transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    sourceMaps: 'inline',
    jsc: {
      target: 'es2022',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
    },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};
require(workerData.entry);
`;
