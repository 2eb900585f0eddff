import { firstExamples } from '../data/split.js';
import type { LoadedDataset } from '../data/types.js';
import { decodeCheckpoint } from '../contract/checkpoint.js';
import { MessageType, type EvaluateJobSpec } from '../contract/protocol.js';
import { BatchClock, batchesAfterCancel, type CancelSignal } from './cancel.js';
import { buildModel, writeVariables } from './model.js';
import type { EnginePort } from './port.js';
import { Batcher, evaluate as evaluateSplit } from './train-step.js';

/** Batch size of an evaluation: inference only, so larger than training's default. */
const EVALUATION_BATCH = 256;

/**
 * Measures an imported network's test SR: the checkpoint's weights in inference mode (batch
 * norm with its running statistics), inputs standardised as the checkpoint says. Posts
 * `started`, `evaluationStep` (at most one per `stepIntervalMs`), then `evaluated`, or
 * `cancelled` when the signal aborts between two batches. Errors are thrown, not posted.
 */
export async function evaluateNetwork(
  job: EvaluateJobSpec,
  checkpoint: Uint8Array,
  dataset: LoadedDataset,
  port: EnginePort,
  options: {
    readonly signal?: CancelSignal;
    readonly backend: { readonly name: string; readonly device: string; readonly threads: number };
    readonly stepIntervalMs?: number;
  },
): Promise<void> {
  const started = performance.now();
  const saved = decodeCheckpoint(checkpoint);
  const spec = job.architecture;
  if (spec.inputShape.join('x') !== dataset.inputShape.join('x'))
    throw new Error(
      `the network takes inputs of shape [${spec.inputShape.join(', ')}], dataset ${dataset.name} has [${dataset.inputShape.join(', ')}]`,
    );
  if (spec.labels !== dataset.labelNames.length)
    throw new Error(
      `the network has ${spec.labels} outputs, dataset ${dataset.name} has ${dataset.labelNames.length} labels`,
    );
  const test = firstExamples(dataset.test, job.maxTestExamples);
  const model = buildModel(spec, 0);
  try {
    writeVariables(model, saved.weights);
    port.post({
      type: MessageType.Started,
      backend: options.backend.name,
      device: options.backend.device,
      threads: options.backend.threads,
      trainExamples: 0,
      testExamples: test.count,
      resumedFromEpoch: null,
    });
    const batches = new Batcher(
      dataset.inputShape,
      EVALUATION_BATCH,
      saved.meta.normalization,
      'none',
    );
    const clock = new BatchClock();
    const interval = options.stepIntervalMs ?? 1000;
    let last = performance.now();
    const result = await evaluateSplit(model, test, batches, options.signal, clock, (batch, of) => {
      const now = performance.now();
      if (now - last < interval && batch < of) return;
      last = now;
      port.post({ type: MessageType.EvaluationStep, batch, batches: of });
    });
    if (!result) {
      port.post({
        type: MessageType.Cancelled,
        epoch: 0,
        ...batchesAfterCancel(clock, options.signal),
      });
      return;
    }
    if (!Number.isFinite(result.loss))
      throw new Error(
        `the network's test loss is ${result.loss}: its weights or its input standardisation give non-finite logits`,
      );
    port.post({
      type: MessageType.Evaluated,
      testSR: result.sr,
      testLoss: result.loss,
      examples: test.count,
      wallSeconds: (performance.now() - started) / 1000,
    });
  } finally {
    model.dispose();
  }
}
