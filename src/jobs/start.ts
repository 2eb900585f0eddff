import type { Config } from '../config.js';
import { startEngineWorker } from '../engine/port.js';
import type { EventBus } from '../events/bus.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/db.js';
import { Runner } from './runner.js';

/** Lease and heartbeat timings, overridable for tests (FILTERSCOPE_LEASE_MS). */
export function leaseMs(): number {
  const value = Number(process.env.FILTERSCOPE_LEASE_MS ?? 30_000);
  return Number.isFinite(value) && value >= 500 ? value : 30_000;
}

/** Starts `config.runners` runners; each runs its jobs in its own engine thread. */
export function startRunners(
  config: Pick<Config, 'runners' | 'backend' | 'dataPath'>,
  store: Store,
  bus: EventBus,
  log: Logger,
): Runner[] {
  const runners: Runner[] = [];
  for (let i = 0; i < config.runners; i++) {
    const runner = new Runner(store, bus, log.child({ runner: i }), {
      leaseMs: leaseMs(),
      startWorker: () =>
        startEngineWorker({
          backend: config.backend,
          env: config.dataPath ? { FILTERSCOPE_DATA: config.dataPath } : {},
        }),
    });
    runner.start();
    runners.push(runner);
  }
  return runners;
}
