import { parentPort, workerData } from 'node:worker_threads';
import { dataRoots } from '../data/catalog.js';
import type { CifarLabelKind } from '../data/cifar.js';
import type { LoadOptions } from '../data/load.js';
import { DatasetUnavailableError, loadDataset } from '../data/load.js';
import { DatasetFileError } from '../data/idx.js';
import { storedProceduralOptions } from '../data/procedural.js';
import type { LoadedDataset } from '../data/types.js';
import type { BackendChoice, BackendInfo } from './backend.js';
import { BACKEND_CHOICES, initBackend } from './backend.js';
import type { EnginePort } from './port.js';
import { threadPort } from './port.js';
import { probe } from './probe.js';
import type { ProbeMessage, StartMessage } from './protocol.js';
import { MessageType } from './protocol.js';
import { train } from './train.js';

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
export function loadOptionsFor(
  message: StartMessage | ProbeMessage,
  dataPath: string | undefined,
): LoadOptions {
  const { name, options = {} } = message.job.dataset;
  const trainCap =
    message.type === MessageType.Probe
      ? message.job.options.maxTrainExamples
      : message.job.hyperparameters?.maxTrainExamples;
  const testCap =
    message.type === MessageType.Probe
      ? message.job.options.maxTestExamples
      : message.job.hyperparameters?.maxTestExamples;
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
): Promise<void> {
  const controller = new AbortController();
  return new Promise<void>((resolve) => {
    let started = false;
    const stop = port.onMessage((message) => {
      if (message.type === MessageType.Cancel) {
        controller.abort();
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

  async function run(message: StartMessage | ProbeMessage): Promise<void> {
    try {
      if (!(BACKEND_CHOICES as readonly string[]).includes(backendChoice)) {
        throw new Error(
          `FILTERSCOPE_BACKEND must be one of ${BACKEND_CHOICES.join(', ')}, got ${JSON.stringify(backendChoice)}`,
        );
      }
      const backend = await deps.initBackend(backendChoice as BackendChoice);
      const options = loadOptionsFor(message, process.env.FILTERSCOPE_DATA);
      const dataset = await deps.loadDataset(message.job.dataset.name, options);
      if (message.type === MessageType.Probe) {
        const result = await probe(
          message.checkpoint,
          dataset,
          message.job.options,
          (event) =>
            port.post({
              type: MessageType.ProbeEvent,
              event: event.type === 'started' ? { ...event, device: backend.device } : event,
            }),
          controller.signal,
        );
        if (result.status === 'cancelled') {
          port.post({ type: MessageType.Cancelled, epoch: 0 });
        } else {
          port.post({
            type: MessageType.ProbeFinished,
            forwardCalls: result.forwardCalls,
            wallSeconds: result.wallSeconds,
            layers: result.layers.map((l) => ({ layer: l.layer, successRate: l.successRate })),
          });
        }
        return;
      }
      await train(message.job, dataset, port, {
        resumeFrom: message.resumeFrom,
        signal: controller.signal,
        backend: { name: backend.name, device: backend.device, threads: backend.threads },
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
if (parentPort && (workerData as { filterscopeEngine?: unknown } | null)?.filterscopeEngine) {
  void serveEngine(threadPort(parentPort), process.env.FILTERSCOPE_BACKEND ?? 'auto');
}
