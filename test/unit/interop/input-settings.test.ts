import * as tf from '@tensorflow/tfjs';
import type { ArchitectureSpec } from '../../../src/architecture/index.js';
import { normalizeInto } from '../../../src/data/normalize.js';
import {
  applyInputSettings,
  applyLabelMapping,
  type ImportedNetwork,
  type InputSettings,
} from '../../../src/interop/index.js';
import { filterscopeLogits, relativeDifference } from './helpers.js';
import { randomWeights } from './specs.js';

beforeAll(async () => {
  tf.env().set('IS_TEST', true);
  await tf.setBackend('cpu');
});

const CONV_FIRST: ArchitectureSpec = {
  name: 'conv first',
  inputShape: [5, 6, 3],
  labels: 4,
  blocks: [{ kind: 'conv', filters: 3 }, { kind: 'maxPool' }, { kind: 'conv', filters: 2 }],
};
/** No conv: the classifier reads the flattened image, so its rows are what BGR reorders. */
const DENSE_FIRST: ArchitectureSpec = {
  name: 'dense first',
  inputShape: [4, 3, 3],
  labels: 5,
  blocks: [],
};

const SCALE = {
  unit: (x: number) => x / 255,
  byte: (x: number) => x,
  symmetric: (x: number) => x / 127.5 - 1,
};

/** What the network's author fed it: channels in `channelOrder`, scaled, then standardised. */
function authorInputs(bytes: Uint8Array, s: InputSettings): Float32Array {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i += 3)
    for (let j = 0; j < 3; j++) {
      const source = s.channelOrder === 'bgr' ? 2 - j : j;
      out[i + j] = (SCALE[s.pixelScale](bytes[i + source]!) - s.mean[j]!) / s.std[j]!;
    }
  return out;
}

describe('applyInputSettings', () => {
  const cases: InputSettings[] = [];
  for (const pixelScale of ['unit', 'byte', 'symmetric'] as const)
    for (const channelOrder of ['rgb', 'bgr'] as const) {
      const byte = pixelScale === 'byte';
      cases.push({
        pixelScale,
        channelOrder,
        mean: byte ? [103.94, 116.78, 123.68] : [0.406, 0.456, 0.485],
        std: byte ? [57.4, 57.1, 58.4] : [0.225, 0.224, 0.229],
      });
    }

  it.each(
    cases.flatMap((s) => [
      [s.pixelScale, s.channelOrder, CONV_FIRST, s] as const,
      [s.pixelScale, s.channelOrder, DENSE_FIRST, s] as const,
    ]),
  )(
    "%s %s (%#): filterscope's standardisation of RGB bytes gives the logits the author's input gives",
    async (_, __, spec, settings) => {
      const weights = await randomWeights(spec, 3);
      const network: ImportedNetwork = { format: 'onnx', spec, weights, metadata: {}, notes: [] };
      const bytes = Uint8Array.from(
        { length: 2 * spec.inputShape.reduce((a, b) => a * b, 1) },
        (_, i) => (i * 73 + 11) % 256,
      );
      const expected = filterscopeLogits(spec, weights, authorInputs(bytes, settings));
      const applied = applyInputSettings(network, settings);
      const ours = filterscopeLogits(
        spec,
        applied.weights,
        normalizeInto(bytes, applied.normalization, new Float32Array(bytes.length)),
      );
      expect(relativeDifference(ours, expected)).toBeLessThan(1e-5);
      if (settings.channelOrder === 'rgb') expect(applied.weights).toBe(weights);
    },
  );

  it('converts the statistics to pixels in [0, 1] in dataset order', () => {
    const network = { spec: CONV_FIRST, weights: [] } as unknown as ImportedNetwork;
    const settings = (
      pixelScale: InputSettings['pixelScale'],
      channelOrder: InputSettings['channelOrder'],
    ): InputSettings => ({
      pixelScale,
      channelOrder,
      mean: [10, 20, 30],
      std: [2, 4, 8],
    });
    expect(applyInputSettings(network, settings('byte', 'rgb')).normalization).toEqual({
      mean: [10 / 255, 20 / 255, 30 / 255],
      std: [2 / 255, 4 / 255, 8 / 255],
    });
    expect(applyInputSettings(network, settings('symmetric', 'rgb')).normalization).toEqual({
      mean: [5.5, 10.5, 15.5],
      std: [1, 2, 4],
    });
    expect(applyInputSettings(network, settings('unit', 'bgr')).normalization).toEqual({
      mean: [30, 20, 10],
      std: [8, 4, 2],
    });
  });

  it('refuses settings that do not fit the network', () => {
    const network = { spec: CONV_FIRST, weights: [] } as unknown as ImportedNetwork;
    const grey = {
      spec: { ...CONV_FIRST, inputShape: [5, 6, 1] },
      weights: [],
    } as unknown as ImportedNetwork;
    const four = {
      spec: { ...CONV_FIRST, inputShape: [5, 6, 4] },
      weights: [],
    } as unknown as ImportedNetwork;
    const s: InputSettings = { pixelScale: 'unit', mean: [0.5], std: [0.5], channelOrder: 'bgr' };
    expect(() => applyInputSettings(network, s)).toThrow(
      /need 3 means and stds \(one per input channel\), got 1 and 1/,
    );
    expect(applyInputSettings(grey, s).normalization).toEqual({ mean: [0.5], std: [0.5] });
    expect(() => applyInputSettings(four, { ...s, mean: [0, 0, 0, 0], std: [1, 1, 1, 1] })).toThrow(
      /'bgr' needs a 3-channel input/,
    );
    expect(() => applyInputSettings(network, { ...s, mean: [0, 0, 0], std: [1, 0, 1] })).toThrow(
      /above 0, got std\[1\] = 0/,
    );
  });
});

describe('applyLabelMapping', () => {
  it("picks and reorders the classifier's outputs: label i gets output mapping[i]", async () => {
    const weights = await randomWeights(CONV_FIRST, 4);
    const network: ImportedNetwork = {
      format: 'onnx',
      spec: CONV_FIRST,
      weights,
      metadata: {},
      notes: [],
    };
    const mapping = [3, 0, 2];
    const mapped = applyLabelMapping(network, mapping);
    expect(mapped.spec).toEqual({ ...CONV_FIRST, labels: 3 });
    const bytes = Uint8Array.from({ length: 2 * 5 * 6 * 3 }, (_, i) => (i * 37) % 256);
    const x = Float32Array.from(bytes, (b) => b / 255 - 0.5);
    const all = filterscopeLogits(CONV_FIRST, weights, x);
    const picked = filterscopeLogits(mapped.spec, mapped.weights, x);
    expect(
      relativeDifference(
        picked,
        all.map((row) => mapping.map((o) => row[o]!)),
      ),
    ).toBeLessThan(1e-6);
    expect(mapped.weights.filter((w, i) => w !== weights[i]).map((w) => w.name)).toEqual([
      'classifier/kernel',
      'classifier/bias',
    ]);
  });

  it('refuses an output the network lacks, one named twice, or a single label', () => {
    const network = { spec: CONV_FIRST, weights: [] } as unknown as ImportedNetwork;
    expect(() => applyLabelMapping(network, [0, 4])).toThrow(
      /labelMapping\[1\] = 4: the network has outputs 0 to 3/,
    );
    expect(() => applyLabelMapping(network, [1, 1])).toThrow(
      /labelMapping\[1\] = 1 is mapped twice/,
    );
    expect(() => applyLabelMapping(network, [1])).toThrow(/at least 2 labels/);
  });
});
