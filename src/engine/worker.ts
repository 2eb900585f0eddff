import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { dataRoots } from '../data/catalog.js';
import type { CifarLabelKind } from '../data/cifar.js';
import type { LoadOptions } from '../data/load.js';
import { DatasetUnavailableError, loadDataset } from '../data/load.js';
import { DatasetFileError } from '../data/idx.js';
import { storedProceduralOptions } from '../data/procedural.js';
import type { LoadedDataset } from '../data/types.js';
import { BACKEND_CHOICES, isBackendChoice, type BackendChoice } from '../contract/backends.js';
import { FROZEN_RUNTIME_CHOICES, isFrozenRuntimeChoice } from '../contract/frozen-runtime.js';
import type { BackendInfo } from './backend.js';
import { initBackend } from './backend.js';
import { SharedCancel } from './cancel.js';
import type { EnginePort } from './port.js';
import { threadPort } from './port.js';
import { NO_SPILL, probe, type ProbeEnvironment } from './probe.js';
import type { EvaluateMessage, ProbeMessage, StartMessage } from '../contract/protocol.js';
import { evaluateNetwork } from './evaluate.js';
import { MessageType } from '../contract/protocol.js';
import { train } from './train.js';

/** The messages that start a job. */
type JobMessage = StartMessage | ProbeMessage | EvaluateMessage;

/**
 * The engine thread's entry (started by `startEngineWorker` in port.ts). It waits for one
 * `start` or `probe`, selects the backend from FILTERSCOPE_BACKEND, loads the dataset, trains
 * (or probes a checkpoint), and reports any error as `failed`. A `cancel` at any time stops the
 * work between batches.
 */

/** What `serveEngine` calls; replaceable in tests. */
export interface EngineDependencies {
  readonly initBackend: (choice: BackendChoice) => Promise<BackendInfo>;
  readonly loadDataset: (
    name: string,
    options: LoadOptions,
  ) => LoadedDataset | Promise<LoadedDataset>;
}

const DEFAULT_DEPENDENCIES: EngineDependencies = { initBackend, loadDataset };

/**
 * `loadDataset` options for a job: data folders from FILTERSCOPE_DATA, the request's options
 * (the procedural dataset's parameters, or CIFAR-100's `cifar100Labels`), and the caps (training and
 * probes: `maxTrainExamples`, `maxTestExamples`), so that a capped procedural run does not
 * generate examples it never uses.
 */
export function loadOptionsFor(message: JobMessage, dataPath: string | undefined): LoadOptions {
  const { name, options = {} } = message.job.dataset;
  const [trainCap, testCap] =
    message.type === MessageType.Probe
      ? [message.job.plan.options.maxTrainExamples, message.job.plan.options.maxTestExamples]
      : message.type === MessageType.Evaluate
        ? // An evaluation reads the test split only (the standardisation is the checkpoint's).
          [1, message.job.maxTestExamples]
        : [
            message.job.hyperparameters.maxTrainExamples,
            message.job.hyperparameters.maxTestExamples,
          ];
  return {
    roots: dataRoots(dataPath),
    ...(trainCap ? { maxTrain: trainCap } : {}),
    ...(testCap ? { maxTest: testCap } : {}),
    // A job of a run stored before generator versions existed regenerates version 1's data.
    ...(name === 'procedural' ? { procedural: storedProceduralOptions(options) } : {}),
    ...(typeof options.cifar100Labels === 'string'
      ? { cifar100Labels: options.cifar100Labels as CifarLabelKind }
      : {}),
  };
}

/**
 * Serves one job (training or probing) over `port`. Resolves once the job has ended (its terminal message
 * posted) and stops listening to the port then, so a worker thread can exit.
 *
 * @param backendChoice FILTERSCOPE_BACKEND's value; default `auto`
 */
export function serveEngine(
  port: EnginePort,
  backendChoice: string = 'auto',
  deps: EngineDependencies = DEFAULT_DEPENDENCIES,
  /** The runner's `SharedCancel` buffer (workerData.cancelCell), read between batches. */
  cancelCell?: SharedArrayBuffer,
): Promise<void> {
  const controller = new AbortController();
  const signal = cancelCell
    ? new SharedCancel(cancelCell).signal(controller.signal)
    : controller.signal;
  return new Promise<void>((resolve) => {
    let started = false;
    const stop = port.onMessage((message) => {
      if (message.type === MessageType.Cancel) {
        // The commit time rides on the signal: the loops count the batches finished after it.
        controller.abort(message.requestedAt ?? null);
        return;
      }
      if (started) {
        port.post({
          type: MessageType.Failed,
          error: `engine received a second ${message.type} message; one worker runs one job`,
          stack: null,
        });
        return;
      }
      started = true;
      void run(message).finally(() => {
        stop();
        resolve();
      });
    });
  });

  async function run(message: JobMessage): Promise<void> {
    try {
      if (!isBackendChoice(backendChoice)) {
        throw new Error(
          `FILTERSCOPE_BACKEND must be one of ${BACKEND_CHOICES.join(', ')}, got ${JSON.stringify(backendChoice)}`,
        );
      }
      const backend = await deps.initBackend(backendChoice);
      const options = loadOptionsFor(message, process.env.FILTERSCOPE_DATA);
      const dataset = await deps.loadDataset(message.job.dataset.name, options);
      if (message.type === MessageType.Probe) {
        const result = await probe(
          message.checkpoint,
          dataset,
          message.job.plan,
          (event) =>
            port.post({
              type: MessageType.ProbeEvent,
              event: event.type === 'started' ? { ...event, device: backend.device } : event,
            }),
          signal,
          spillFrom(process.env),
        );
        if (result.status === 'cancelled') {
          port.post({
            type: MessageType.Cancelled,
            epoch: 0,
            ...(result.batchesAfterCancel === undefined
              ? {}
              : { batchesAfterCancel: result.batchesAfterCancel }),
          });
        } else {
          port.post({
            type: MessageType.ProbeFinished,
            forwardCalls: result.forwardCalls,
            wallSeconds: result.wallSeconds,
            timings: result.timings,
            layers: result.layers.map((l) => ({ layer: l.layer, successRate: l.successRate })),
          });
        }
        return;
      }
      const info = { name: backend.name, device: backend.device, threads: backend.threads };
      if (message.type === MessageType.Evaluate) {
        await evaluateNetwork(message.job, message.checkpoint, dataset, port, {
          signal,
          backend: info,
        });
        return;
      }
      await train(message.job, dataset, port, {
        resumeFrom: message.resumeFrom,
        signal,
        backend: info,
      });
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      const text = e.message || e.name || 'unknown error';
      // A bad dataset file fails every attempt the same way: say so, and the job is not retried.
      const permanent = e instanceof DatasetFileError || e instanceof DatasetUnavailableError;
      port.post({ type: MessageType.Failed, error: text, stack: e.stack ?? null, permanent });
    }
  }
}

// Only in a thread started by startEngineWorker: importing this module elsewhere (tests, a jest
// worker thread) must not start serving.
const data = workerData as { filterscopeEngine?: unknown; cancelCell?: unknown } | null;
if (parentPort && data?.filterscopeEngine) {
  void serveEngine(
    threadPort(parentPort),
    process.env.FILTERSCOPE_BACKEND ?? 'auto',
    DEFAULT_DEPENDENCIES,
    data.cancelCell instanceof SharedArrayBuffer ? data.cancelCell : undefined,
  );
}

/**
 * Where this thread spills probe features: FILTERSCOPE_HOME/probe-features, within
 * FILTERSCOPE_PROBE_DISK_BYTES, as FILTERSCOPE_PROBE_SPILL says (the runner sets all three from
 * the validated config; without a home, nothing spills); and what runs the frozen pass
 * (FILTERSCOPE_FROZEN_RUNTIME, default auto; throws on another value).
 */
export function spillFrom(env: NodeJS.ProcessEnv): ProbeEnvironment {
  const runtime = env.FILTERSCOPE_FROZEN_RUNTIME || 'auto';
  if (!isFrozenRuntimeChoice(runtime))
    throw new Error(
      `FILTERSCOPE_FROZEN_RUNTIME must be one of ${FROZEN_RUNTIME_CHOICES.join(', ')}, got ${JSON.stringify(runtime)}`,
    );
  const home = env.FILTERSCOPE_HOME;
  const bytes = Number(env.FILTERSCOPE_PROBE_DISK_BYTES ?? 0);
  if (!home || !Number.isFinite(bytes) || bytes <= 0)
    return { ...NO_SPILL, frozenRuntime: runtime };
  return {
    diskBytes: bytes,
    directory: join(home, 'probe-features'),
    float16: env.FILTERSCOPE_PROBE_SPILL !== 'float32',
    frozenRuntime: runtime,
  };
}
