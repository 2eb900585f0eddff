import { vgg6 } from '../../../src/architecture/index.js';
import type { TrainCheckpoint } from '../../../src/contract/checkpoint.js';
import { crc32, decodeCheckpoint, encodeCheckpoint } from '../../../src/contract/checkpoint.js';
import { TRAIN_DEFAULTS } from '../../../src/contract/hyperparameters.js';

const metrics = {
  epoch: 1,
  trainLoss: 2.1,
  trainSR: 0.2,
  testLoss: 2.0,
  testSR: 0.25,
  learningRate: 0.05,
  wallSeconds: 1.5,
};

const CHECKPOINT: TrainCheckpoint = {
  epoch: 1,
  rngState: 0xdeadbeef,
  meta: {
    architecture: vgg6('v', [28, 28, 1], 10),
    dataset: { name: 'procedural', options: { imageSize: 28 } },
    hyperparameters: { ...TRAIN_DEFAULTS, augmentation: 'none' },
    normalization: { mean: [0.1], std: [0.3] },
    history: [metrics],
  },
  weights: [
    { name: 'conv1/kernel', shape: [1, 1, 1, 3], values: new Float32Array([1.5, -2, 1e-30]) },
    { name: 'conv1_bn/moving_mean', shape: [3], values: new Float32Array([NaN, Infinity, -0]) },
  ],
  momentum: [
    { name: 'conv1/kernel', shape: [1, 1, 1, 3], values: new Float32Array([0.25, 0, -1]) },
  ],
};

describe('checkpoint format', () => {
  it('round-trips every value bit for bit, with the header', () => {
    const bytes = encodeCheckpoint(CHECKPOINT);
    expect(bytes.byteOffset).toBe(0);
    expect(bytes.byteLength).toBe(bytes.buffer.byteLength);
    const back = decodeCheckpoint(bytes);
    expect(back.epoch).toBe(1);
    expect(back.rngState).toBe(0xdeadbeef);
    expect(back.meta).toEqual(CHECKPOINT.meta);
    const bits = (a: Float32Array) => Array.from(new Uint32Array(Float32Array.from(a).buffer));
    expect(back.weights.map((w) => [w.name, w.shape, bits(w.values)])).toEqual(
      CHECKPOINT.weights.map((w) => [w.name, w.shape, bits(w.values)]),
    );
    expect(back.momentum.map((w) => [w.name, bits(w.values)])).toEqual([
      ['conv1/kernel', bits(new Float32Array([0.25, 0, -1]))],
    ]);
  });

  it('reads a checkpoint that sits at an odd offset of a larger buffer', () => {
    const bytes = encodeCheckpoint(CHECKPOINT);
    const big = new Uint8Array(bytes.length + 3);
    big.set(bytes, 1);
    expect(decodeCheckpoint(big.subarray(1, 1 + bytes.length)).weights[0]?.values[0]).toBe(1.5);
  });

  it('rejects bad magic, version, truncation, corruption and malformed headers, saying what it got', () => {
    const bytes = encodeCheckpoint(CHECKPOINT);
    const copy = (edit: (b: Uint8Array) => void): Uint8Array => {
      const b = bytes.slice();
      edit(b);
      return b;
    };
    expect(() => decodeCheckpoint(copy((b) => b.set([88], 0)))).toThrow(
      'invalid checkpoint: expected magic FSCP, got "XSCP"',
    );
    expect(() => decodeCheckpoint(copy((b) => b.set([2], 4)))).toThrow('expected version 1, got 2');
    expect(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 4))).toThrow(
      `the header's tensors need ${bytes.length} bytes in all, got ${bytes.length - 4}`,
    );
    expect(() =>
      decodeCheckpoint(copy((b) => b.set([(b[b.length - 1] ?? 0) ^ 1], b.length - 1))),
    ).toThrow(/CRC-32 of the values is \d+, the header says \d+/);
    expect(() => decodeCheckpoint(bytes.subarray(0, 8))).toThrow(
      'expected at least 12 bytes, got 8',
    );
    const badShape = {
      ...CHECKPOINT,
      weights: [{ name: 'w', shape: [2], values: new Float32Array(3) }],
    };
    expect(() => encodeCheckpoint(badShape)).toThrow(
      'weights tensor w: shape [2] needs 2 values, got 3',
    );
    // Epoch 0 is an imported network's; below it nothing.
    const noEpoch = encodeCheckpoint({ ...CHECKPOINT, epoch: -1 });
    expect(() => decodeCheckpoint(noEpoch)).toThrow(
      'header.epoch: expected an integer >= 0, got -1',
    );
  });

  it('computes the standard CRC-32', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });
});
