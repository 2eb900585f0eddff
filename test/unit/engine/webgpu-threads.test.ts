import type { ArchitectureSpec } from '../../../src/architecture/index.js';
import type { BackendChoice } from '../../../src/contract/backends.js';
import { decodeCheckpoint, type TrainCheckpoint } from '../../../src/contract/checkpoint.js';
import { startEngineWorker } from '../../../src/engine/port.js';
import type { OutboundMessage, TrainJobSpec } from '../../../src/contract/protocol.js';
import { MessageType } from '../../../src/contract/protocol.js';
import { resolveHyperparameters } from '../../../src/contract/hyperparameters.js';

/**
 * The webgpu backend where the server runs it: in an engine thread started by the runner
 * (`startEngineWorker`), on the software adapter (`FILTERSCOPE_WEBGPU_ALLOW_SOFTWARE=1`), with
 * checkpoints crossing backends both ways. Checkpoints hold plain float32 values, so a run
 * resumed on the other backend must continue as the uninterrupted run did, up to float
 * rounding.
 */

const NET: ArchitectureSpec = {
  name: 'thread vgg',
  inputShape: [8, 8, 3],
  labels: 3,
  blocks: [
    { kind: 'conv', filters: 5 },
    { kind: 'maxPool' },
    { kind: 'conv', filters: 7 },
    { kind: 'maxPool' },
    { kind: 'flatten' },
    { kind: 'dense', units: 6 },
  ],
};
const JOB: TrainJobSpec = {
  architecture: NET,
  dataset: {
    name: 'procedural',
    options: { imageSize: 8, channels: 3, labels: 3, trainSize: 24, testSize: 9 },
  },
  hyperparameters: resolveHyperparameters(
    { epochs: 2, batchSize: 8, seed: 4, learningRate: 0.05 },
    { inputShape: NET.inputShape },
  ),
};
const TERMINAL = new Set<string>([MessageType.Finished, MessageType.Failed, MessageType.Cancelled]);

/** Runs JOB (from `resumeFrom` when given) in a fresh engine thread on `backend`. */
async function inThread(
  backend: BackendChoice,
  resumeFrom: Uint8Array | null = null,
): Promise<{ messages: OutboundMessage[]; exitCode: number }> {
  const engine = startEngineWorker({
    backend,
    env: { FILTERSCOPE_WEBGPU_ALLOW_SOFTWARE: '1', FILTERSCOPE_THREADS: '1' },
  });
  try {
    const messages: OutboundMessage[] = [];
    const done = new Promise<void>((resolve) =>
      engine.onMessage((m) => {
        messages.push(m);
        if (TERMINAL.has(m.type)) resolve();
      }),
    );
    engine.post({ type: MessageType.Start, job: JOB, resumeFrom: resumeFrom?.slice() ?? null });
    await done;
    return { messages, exitCode: await engine.exited };
  } finally {
    await engine.dispose();
  }
}

const checkpoints = (messages: OutboundMessage[]): TrainCheckpoint[] =>
  messages.flatMap((m) => (m.type === MessageType.Checkpoint ? [decodeCheckpoint(m.bytes)] : []));
const checkpointBytes = (messages: OutboundMessage[], epoch: number): Uint8Array => {
  const found = messages.find((m) => m.type === MessageType.Checkpoint && m.epoch === epoch);
  if (found?.type !== MessageType.Checkpoint) throw new Error(`no checkpoint of epoch ${epoch}`);
  return found.bytes;
};

/** Every weight and momentum buffer of `actual` within `tolerance` (norm-wise) of `expected`. */
function expectSameState(actual: TrainCheckpoint, expected: TrainCheckpoint, tolerance = 1e-4) {
  expect(actual.epoch).toBe(expected.epoch);
  expect(actual.rngState).toBe(expected.rngState);
  const all = (c: TrainCheckpoint) => [...c.weights, ...c.momentum];
  const reference = all(expected);
  expect(all(actual).map((t) => t.name)).toEqual(reference.map((t) => t.name));
  const errors = all(actual).map((t, i) => {
    const e = reference[i]!;
    let diff = 0;
    let scale = 0;
    e.values.forEach((v, j) => {
      diff = Math.max(diff, Math.abs(v - (t.values[j] ?? NaN)));
      scale = Math.max(scale, Math.abs(v));
    });
    return { name: t.name, error: scale === 0 ? diff : diff / scale };
  });
  // Named, so that a failure says which tensor drifted.
  expect(errors.filter((e) => !(e.error < tolerance))).toEqual([]);
}

describe('webgpu in an engine thread, checkpoints across backends', () => {
  let webgpu: OutboundMessage[] = [];
  let wasm: OutboundMessage[] = [];

  beforeAll(async () => {
    // Both uninterrupted runs at once, each in its own thread.
    const [g, w] = await Promise.all([inThread('webgpu'), inThread('wasm')]);
    [webgpu, wasm] = [g.messages, w.messages];
    // The threads ended by themselves: Dawn holds nothing that keeps a thread alive.
    expect([g.exitCode, w.exitCode]).toEqual([0, 0]);
  });

  it('trains in a thread on the software adapter, recording it as the run device', () => {
    expect(webgpu.map((m) => m.type).filter((t) => t !== MessageType.Step)).toEqual([
      'started',
      'epoch',
      'checkpoint',
      'epoch',
      'checkpoint',
      'finished',
    ]);
    expect(webgpu[0]).toMatchObject({
      type: 'started',
      backend: 'webgpu',
      device: expect.stringMatching(/^WebGPU software adapter: llvmpipe/),
      threads: 0,
    });
    // The same run as on wasm, up to float rounding.
    expectSameState(checkpoints(webgpu)[1]!, checkpoints(wasm)[1]!);
  });

  it('resumes a webgpu checkpoint on wasm and a wasm checkpoint on webgpu, as if never stopped', async () => {
    const [onWasm, onWebgpu] = await Promise.all([
      inThread('wasm', checkpointBytes(webgpu, 1)),
      inThread('webgpu', checkpointBytes(wasm, 1)),
    ]);
    for (const { messages } of [onWasm, onWebgpu]) {
      expect(messages.find((m) => m.type === MessageType.Started)).toMatchObject({
        resumedFromEpoch: 1,
      });
      expect(messages[messages.length - 1]?.type).toBe(MessageType.Finished);
    }
    // Epoch 2 resumed on the other backend ends where both uninterrupted runs ended.
    expectSameState(checkpoints(onWasm.messages)[0]!, checkpoints(webgpu)[1]!);
    expectSameState(checkpoints(onWebgpu.messages)[0]!, checkpoints(wasm)[1]!);
  });
});
