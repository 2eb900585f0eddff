import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vgg6 } from '../../../src/architecture/presets.js';
import { decodeCheckpoint } from '../../../src/contract/checkpoint.js';
import { resolveHyperparameters } from '../../../src/contract/hyperparameters.js';
import { planProbe, type ProbeOptions } from '../../../src/contract/probe-options.js';
import { MessageType, type OutboundMessage } from '../../../src/contract/protocol.js';
import { normalizeInto } from '../../../src/data/normalize.js';
import { generateProcedural } from '../../../src/data/procedural.js';
import { initBackend } from '../../../src/engine/backend.js';
import {
  chooseFrozenRuntime,
  loadOnnxRuntime,
  onnxFrozenNetwork,
} from '../../../src/engine/frozen-runtime.js';
import { buildModel, buildProbeModel, writeVariables } from '../../../src/engine/model.js';
import { probe, type ProbeEnvironment } from '../../../src/engine/probe.js';
import { tfjsFrozenNetwork } from '../../../src/engine/probe-features.js';
import { train } from '../../../src/engine/train.js';
import { writeFrozenOnnx } from '../../../src/interop/onnx-frozen.js';

/**
 * The frozen pass on onnxruntime-node (the ONNX export of the frozen prefix) against the
 * TensorFlow.js backend's own pass: the same features, the same metrics, one pass either way.
 */

const SPEC = vgg6('VGG-6/28x28x1', [28, 28, 1], 10);
const DATA = generateProcedural({
  imageSize: 28,
  channels: 1,
  labels: 10,
  trainSize: 96,
  testSize: 64,
  seed: 5,
});
const BATCH = 32;
const TRAIN_BATCHES = 3; // 96 / 32
const TEST_BATCHES = 2; // 64 / 32
const BASE: ProbeOptions = { headEpochs: 2, batchSize: BATCH, seed: 11, replicates: 1 };
let checkpoint: Uint8Array;

beforeAll(async () => {
  await initBackend('wasm', undefined, { threads: 1 });
  const messages: OutboundMessage[] = [];
  await train(
    {
      architecture: SPEC,
      dataset: { name: 'procedural' },
      hyperparameters: resolveHyperparameters(
        { epochs: 1, batchSize: BATCH, seed: 2, learningRate: 0.02 },
        DATA,
      ),
    },
    DATA,
    { post: (m) => messages.push(m), onMessage: () => () => undefined },
  );
  const last = messages.filter((m) => m.type === MessageType.Checkpoint).pop();
  if (last?.type !== MessageType.Checkpoint) throw new Error('training wrote no checkpoint');
  checkpoint = last.bytes;
}, 120_000);

const runProbe = (options: ProbeOptions, environment: ProbeEnvironment) =>
  probe(
    checkpoint,
    DATA,
    planProbe({ ...BASE, ...options }, { spec: SPEC }),
    () => undefined,
    undefined,
    {
      threads: 1,
      ...environment,
    },
  );

/** onnx.checker.check_model(full_check=True) by /usr/bin/python3 (python3-onnx); prints the outputs. */
function onnxCheck(bytes: Uint8Array): string {
  const directory = mkdtempSync(join(tmpdir(), 'filterscope-frozen-onnx-'));
  try {
    const path = join(directory, 'frozen.onnx');
    writeFileSync(path, bytes);
    return execFileSync(
      '/usr/bin/python3',
      [
        '-c',
        'import onnx, sys; m = onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True); print("ok", len(m.graph.output))',
        path,
      ],
      { encoding: 'utf8' },
    ).trim();
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

const NO_DISK = { diskBytes: 0, directory: '', float16: true };

describe('the frozen pass on onnxruntime', () => {
  it('gives the features of the TensorFlow.js pass, every probe point, within 1e-4 of their scale', async () => {
    const { points } = planProbe(BASE, { spec: SPEC });
    // conv1 (28x28x64) is pooled once more to fit maxFeatures: the export pools it too.
    expect(points[0]!.extraPoolings).toBe(1);
    const saved = decodeCheckpoint(checkpoint);
    const model = buildModel(SPEC, 0);
    writeVariables(model, saved.weights);
    const count = 40;
    const pixels = 28 * 28;
    const inputs = normalizeInto(
      DATA.test.images.subarray(0, count * pixels),
      saved.meta.normalization,
      new Float32Array(count * pixels),
    );
    const tfjs = tfjsFrozenNetwork(
      buildProbeModel(
        model,
        SPEC,
        points.map((p) => p.source),
      ),
      points,
      SPEC.inputShape,
    );
    const loaded = await loadOnnxRuntime();
    if (!('ort' in loaded)) throw new Error(`onnxruntime-node does not load: ${loaded.error}`);
    const bytes = writeFrozenOnnx(SPEC, saved.weights, points);
    // A valid ONNX model for any runtime: Debian's onnx checker (full check) accepts it.
    expect(onnxCheck(bytes)).toBe('ok 5');
    const native = await onnxFrozenNetwork(loaded.ort, bytes, points, SPEC.inputShape, 1);
    try {
      const [ours, theirs] = [await tfjs(inputs, count), await native.network(inputs, count)];
      points.forEach((point, l) => {
        const a = ours[l]!;
        const b = theirs[l]!;
        expect(b).toHaveLength(count * point.features);
        let scale = 0;
        let diff = 0;
        for (let i = 0; i < a.length; i++) {
          scale = Math.max(scale, Math.abs(a[i]!));
          diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
        }
        expect(scale).toBeGreaterThan(0);
        expect(diff / scale).toBeLessThan(1e-4);
      });
    } finally {
      await native.release();
      model.dispose();
    }
  });

  it('gives the same SR per layer and filter SNRs as the TensorFlow.js pass, and records its path', async () => {
    const native = await runProbe({}, { ...NO_DISK, frozenRuntime: 'onnxruntime' });
    const tfjs = await runProbe({}, { ...NO_DISK, frozenRuntime: 'tfjs' });
    expect(native.timings.frozenPath).toBe('onnxruntime');
    expect(tfjs.timings.frozenPath).toBe('wasm');
    expect(native.layers).toHaveLength(5);
    native.layers.forEach((layer, l) => {
      const other = tfjs.layers[l]!;
      // At most one test image of 64 may fall the other way on a float's difference.
      expect(Math.abs(layer.successRate - other.successRate)).toBeLessThanOrEqual(1 / 64 + 1e-12);
      layer.filters.forEach((f, k) => {
        const g = other.filters[k]!;
        if (f.snr === null || g.snr === null) expect(f.snr).toBe(g.snr);
        else
          expect(Math.abs(f.snr - g.snr)).toBeLessThanOrEqual(1e-3 * Math.max(1, Math.abs(g.snr)));
      });
    });
  });

  it('runs the frozen network once over train and test on both paths, in memory and spilled', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'filterscope-frozen-'));
    try {
      for (const frozenRuntime of ['onnxruntime', 'tfjs'] as const) {
        const memory = await runProbe({}, { ...NO_DISK, frozenRuntime });
        const spilled = await runProbe(
          { featureCacheBytes: 0 },
          { diskBytes: 1 << 30, directory, float16: true, frozenRuntime },
        );
        const none = await runProbe({ featureCacheBytes: 0 }, { ...NO_DISK, frozenRuntime });
        expect(memory.timings.featureStore).toBe('memory');
        expect(spilled.timings.featureStore).toBe('disk-float16');
        expect(none.timings.featureStore).toBe('none');
        expect(memory.forwardCalls).toBe(TRAIN_BATCHES + TEST_BATCHES);
        expect(spilled.forwardCalls).toBe(TRAIN_BATCHES + TEST_BATCHES);
        // Nowhere to keep them: every head epoch runs it again, and AFCC once more.
        expect(none.forwardCalls).toBe(2 * (TRAIN_BATCHES + TEST_BATCHES) + TEST_BATCHES);
        for (const r of [memory, spilled, none])
          expect(r.timings.frozenPath).toBe(frozenRuntime === 'tfjs' ? 'wasm' : 'onnxruntime');
      }
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('choosing the frozen runtime', () => {
  const missing = () => loadOnnxRuntime('onnxruntime-node-not-installed');

  it('auto: onnxruntime on a CPU backend when it loads, the backend (wasm) when it does not', async () => {
    expect((await chooseFrozenRuntime('auto', 'wasm')).kind).toBe('onnxruntime');
    expect((await chooseFrozenRuntime('auto', 'wasm', missing)).kind).toBe('tfjs');
  });

  it("auto: a GPU backend's own path, without loading onnxruntime", async () => {
    const refuse = () => Promise.reject(new Error('must not load'));
    expect((await chooseFrozenRuntime('auto', 'webgpu', refuse)).kind).toBe('tfjs');
    expect((await chooseFrozenRuntime('auto', 'tensorflow-gpu', refuse)).kind).toBe('tfjs');
  });

  it('tfjs never loads it; onnxruntime that does not load fails, naming the setting', async () => {
    expect((await chooseFrozenRuntime('tfjs', 'wasm', missing)).kind).toBe('tfjs');
    await expect(chooseFrozenRuntime('onnxruntime', 'wasm', missing)).rejects.toThrow(
      /FILTERSCOPE_FROZEN_RUNTIME=onnxruntime but onnxruntime-node does not load: .*onnxruntime-node-not-installed/,
    );
  });
});
