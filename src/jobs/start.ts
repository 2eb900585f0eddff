import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config.js';
import { removeStaleSpills } from '../engine/feature-store.js';
import { startEngineWorker } from '../engine/port.js';
import type { EventBus } from '../events/bus.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/db.js';
import { Runner } from './runner.js';

/** Where probes spill frozen features that do not fit in memory. */
export const probeFeatureDirectory = (home: string): string => join(home, 'probe-features');

/** Lease and heartbeat timings, overridable for tests (FILTERSCOPE_LEASE_MS). */
export function leaseMs(): number {
  const value = Number(process.env.FILTERSCOPE_LEASE_MS ?? 30_000);
  return Number.isFinite(value) && value >= 500 ? value : 30_000;
}

/** Starts `config.runners` runners; each runs its jobs in its own engine thread. */
export function startRunners(
  config: Pick<
    Config,
    'runners' | 'backend' | 'dataPath' | 'home' | 'probeDiskBytes' | 'probeSpill' | 'frozenRuntime'
  >,
  store: Store,
  bus: EventBus,
  log: Logger,
): Runner[] {
  const runners: Runner[] = [];
  if (config.runners === 0) return runners;
  // Probes spill features under the home folder; a crash or a kill leaves them behind.
  const spill = probeFeatureDirectory(config.home);
  const stale = removeStaleSpills(spill);
  if (stale > 0)
    log.info('removed probe feature files left by a stopped process', { files: stale });
  const env: Record<string, string> = {
    ...(config.dataPath ? { FILTERSCOPE_DATA: config.dataPath } : {}),
    FILTERSCOPE_HOME: config.home,
    FILTERSCOPE_PROBE_DISK_BYTES: String(config.probeDiskBytes),
    FILTERSCOPE_PROBE_SPILL: config.probeSpill,
    FILTERSCOPE_FROZEN_RUNTIME: config.frozenRuntime,
  };
  // Each engine thread would take every core: runners share them instead, unless told otherwise.
  if (config.runners > 1 && !process.env.FILTERSCOPE_THREADS)
    env.FILTERSCOPE_THREADS = String(threadsPerRunner(config.runners));
  for (let i = 0; i < config.runners; i++) {
    const runner = new Runner(store, bus, log.child({ runner: i }), {
      leaseMs: leaseMs(),
      startWorker: () =>
        startEngineWorker({
          backend: config.backend,
          env,
        }),
    });
    runner.start();
    runners.push(runner);
  }
  return runners;
}

/** wasm threads for each of `runners` engines so that together they use the cores once. */
export function threadsPerRunner(runners: number, cores: number = availableParallelism()): number {
  return Math.max(1, Math.floor(cores / Math.max(1, runners)));
}
