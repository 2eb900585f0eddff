import * as tf from '@tensorflow/tfjs';
import { buildModel, readVariables } from '../../../src/engine/model.js';
import { ImportError, SUPPORTED_ONNX_OPS, readOnnx } from '../../../src/interop/index.js';
import { permuteFlattenRows } from '../../../src/interop/layout.js';
import {
  filterscopeLogits,
  fixture,
  nchwToNhwc,
  reference,
  relativeDifference,
} from './helpers.js';

beforeAll(async () => {
  tf.env().set('IS_TEST', true);
  await tf.setBackend('cpu');
});

/** The error a call throws, for its fields. */
function refusal(read: () => unknown): ImportError {
  try {
    read();
  } catch (error) {
    if (error instanceof ImportError) return error;
    throw error;
  }
  throw new Error('expected an ImportError, nothing was thrown');
}

const SMALL_BLOCKS = [
  { kind: 'conv', filters: 8 },
  { kind: 'maxPool' },
  { kind: 'conv', filters: 12 },
  { kind: 'maxPool' },
  { kind: 'conv', filters: 16 },
  { kind: 'flatten' },
  { kind: 'dense', units: 32 },
];
const FASHION_BLOCKS = [
  { kind: 'conv', filters: 8 },
  { kind: 'maxPool' },
  { kind: 'conv', filters: 16 },
  { kind: 'maxPool' },
  { kind: 'flatten' },
  { kind: 'dense', units: 32 },
];
const folded = (blocks: object[]): object[] =>
  blocks.map((b) => ('filters' in b ? { ...b, batchNorm: false } : b));

const GOOD = [
  ['small12x16-folded', 'small12x16', [12, 16, 3], 5, folded(SMALL_BLOCKS)],
  ['small12x16-bn', 'small12x16', [12, 16, 3], 5, SMALL_BLOCKS],
  ['fashion28-folded', 'fashion28', [28, 28, 1], 10, folded(FASHION_BLOCKS)],
  ['fashion28-bn', 'fashion28', [28, 28, 1], 10, FASHION_BLOCKS],
  [
    'vggbn16x20-bn',
    'vggbn16x20',
    [16, 20, 3],
    6,
    [
      { kind: 'conv', filters: 8, bias: true },
      { kind: 'avgPool' },
      {
        kind: 'conv',
        filters: 12,
        stride: 2,
        padding: { top: 1, bottom: 1, left: 1, right: 1 },
        bias: true,
      },
      { kind: 'flatten' },
      { kind: 'dense', units: 24 },
    ],
  ],
  [
    'gap10x14-bn',
    'gap10x14',
    [10, 14, 3],
    4,
    [
      { kind: 'conv', filters: 6, batchNorm: false, bias: false },
      { kind: 'maxPool' },
      { kind: 'conv', filters: 10, padding: 'valid', bias: true },
      { kind: 'globalAvgPool' },
    ],
  ],
  ...(['padded9x12-opset9', 'padded9x12-opset17'] as const).map(
    (file) =>
      [
        file,
        'padded9x12',
        [9, 12, 3],
        3,
        [
          {
            kind: 'conv',
            filters: 5,
            stride: 2,
            padding: { top: 1, bottom: 0, left: 2, right: 1 },
            bias: true,
          },
          { kind: 'conv', filters: 6, kernelSize: 1, batchNorm: false },
        ],
      ] as const,
  ),
] as const;

describe('readOnnx on networks exported by PyTorch 1.13', () => {
  it.each(GOOD)(
    "%s: the spec, buildModel's variables, and PyTorch's logits",
    async (file, ref, inputShape, labels, blocks) => {
      const network = readOnnx(fixture(`onnx/${file}.onnx`));
      expect(network.format).toBe('onnx');
      expect(network.spec).toEqual({ name: 'torch_jit', inputShape, labels, blocks });
      const model = buildModel(network.spec, 1);
      const expected = (await readVariables(model)).map((v) => [v.name, v.shape]);
      model.dispose();
      expect(network.weights.map((v) => [v.name, v.shape])).toEqual(expected);
      const r = reference(`onnx/${ref}.json`);
      const x = nchwToNhwc(r.inputs, r.inputShapeNCHW!);
      const diff = relativeDifference(
        filterscopeLogits(network.spec, network.weights, x),
        r.logits,
      );
      console.log(`logits ${file}: max |difference| / max |logit| = ${diff.toExponential(2)}`);
      expect(diff).toBeLessThan(1e-4);
    },
  );

  it('permutes the first dense rows from C*H*W to H*W*C: without it the 12x16 logits are wrong', () => {
    const network = readOnnx(fixture('onnx/small12x16-bn.onnx'));
    const r = reference('onnx/small12x16.json');
    const x = nchwToNhwc(r.inputs, r.inputShapeNCHW!);
    const unpermuted = network.weights.map((w) =>
      w.name === 'dense1/kernel'
        ? { ...w, values: permuteFlattenRows(w.values, [3, 4, 16], 32, 'chw') }
        : w,
    );
    expect(
      relativeDifference(filterscopeLogits(network.spec, unpermuted, x), r.logits),
    ).toBeGreaterThan(0.05);
  });

  it('says what it changed without changing the logits', () => {
    expect(readOnnx(fixture('onnx/gap10x14-bn.onnx')).notes).toEqual([
      'Relu "/Relu" moved before the pooling/dropout after Conv "/c1/Conv" (the same values)',
      `Softmax "/Softmax" dropped: filterscope's classifier outputs logits (the same predictions)`,
    ]);
    expect(readOnnx(fixture('onnx/vggbn16x20-bn.onnx')).notes).toEqual([
      'BatchNormalization "/features/features.1/BatchNormalization": epsilon 0.001 folded into the running variance (filterscope uses 0.00001)',
    ]);
    expect(readOnnx(fixture('onnx/small12x16-bn.onnx')).notes).toEqual([]);
  });

  it('finds no metadata in a foreign file', () => {
    expect(readOnnx(fixture('onnx/small12x16-bn.onnx')).metadata).toEqual({});
  });
});

describe('readOnnx refuses what filterscope cannot express, naming the node', () => {
  it.each([
    ['bad-residual', 'UNSUPPORTED_GRAPH', { name: '/Add', opType: 'Add' }, /residual connection/],
    [
      'bad-concat',
      'UNSUPPORTED_GRAPH',
      { name: '/Concat', opType: 'Concat' },
      /concatenates branches/,
    ],
    ['bad-tanh', 'UNSUPPORTED_OP', { name: '/Tanh', opType: 'Tanh' }, /op Tanh is not supported/],
    [
      'bad-two-inputs',
      'SECOND_INPUT',
      { name: '/Add', opType: 'Add' },
      /2 inputs \("input", "input1"\)/,
    ],
    [
      'bad-dynamic-size',
      'DYNAMIC_DIMENSION',
      { name: '/c/Conv', opType: 'Conv' },
      /dynamic height \("height", axis 2/,
    ],
  ])('%s: %s', (file, code, node, message) => {
    const error = refusal(() => readOnnx(fixture(`onnx/${file}.onnx`)));
    expect({ code: error.code, node: error.node }).toEqual({ code, node });
    expect(error.message).toMatch(message);
  });

  it('lists the supported ops with an unsupported one', () => {
    const error = refusal(() => readOnnx(fixture('onnx/bad-tanh.onnx')));
    expect(error.supported).toEqual(SUPPORTED_ONNX_OPS);
    expect(error.message).toContain('(supported: Conv, BatchNormalization, Relu,');
  });

  it('an empty file, a truncated one, and other bytes', () => {
    const bytes = fixture('onnx/small12x16-bn.onnx');
    expect(refusal(() => readOnnx(new Uint8Array(0))).code).toBe('EMPTY');
    const cut = refusal(() => readOnnx(bytes.subarray(0, Math.floor(bytes.length / 2))));
    expect([cut.code, cut.message]).toEqual([
      'TRUNCATED',
      expect.stringMatching(/ends in the middle/),
    ]);
    expect(
      refusal(() => readOnnx(new TextEncoder().encode('{"format": "layers-model"}'))).code,
    ).toBe('NOT_A_MODEL');
    const noise = Uint8Array.from({ length: 256 }, (_, i) => (i * 97 + 13) % 251);
    expect(refusal(() => readOnnx(noise)).code).toMatch(/^(NOT_A_MODEL|TRUNCATED)$/);
  });
});
