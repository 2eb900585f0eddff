import * as tf from '@tensorflow/tfjs';
import type { ArchitectureSpec } from '../../../src/architecture/index.js';
import type { NamedArray } from '../../../src/contract/tensors.js';
import { buildModel, readVariables } from '../../../src/engine/model.js';
import {
  ImportError,
  readTfjsLayers,
  writeTfjsLayers,
  type TfjsModelJson,
} from '../../../src/interop/index.js';
import { filterscopeLogits, fixture, reference, relativeDifference } from './helpers.js';
import { FLAT_SPEC, GAP_SPEC, randomInputs, randomWeights } from './specs.js';

beforeAll(async () => {
  tf.env().set('IS_TEST', true);
  await tf.setBackend('cpu');
});

const text = (path: string): string => new TextDecoder().decode(fixture(path));

/** Loads model.json + weights with tfjs' own loader, as a browser or `tf.loadLayersModel` would. */
async function loadWithTfjs(
  modelJson: TfjsModelJson,
  weightData: Uint8Array,
): Promise<tf.LayersModel> {
  const json = JSON.parse(JSON.stringify(modelJson)) as tf.io.ModelJSON;
  const buffer = weightData.slice().buffer;
  const artifacts = await tf.io.getModelArtifactsForJSON(json, async (manifest) => [
    manifest.flatMap((g) => g.weights),
    buffer,
  ]);
  return tf.loadLayersModel(tf.io.fromMemory(artifacts));
}

/** The variables' names and shapes of buildModel(spec), in order. */
async function variableList(spec: ArchitectureSpec): Promise<string[]> {
  const model = buildModel(spec, 1);
  const values = await readVariables(model);
  model.dispose();
  return values.map((v) => `${v.name} [${v.shape.join(', ')}]`);
}

const list = (weights: readonly NamedArray[]): string[] =>
  weights.map((v) => `${v.name} [${v.shape.join(', ')}]`);

describe('readTfjsLayers on models saved by TensorFlow.js 4.22', () => {
  it("a Sequential 12x16x3 model: the spec, and tfjs' logits (weights concatenated)", async () => {
    const network = readTfjsLayers(
      text('tfjs/sequential12x16/model.json'),
      fixture('tfjs/sequential12x16/weights.bin'),
    );
    expect(network.spec).toEqual({
      name: 'tfjs_sequential',
      inputShape: [12, 16, 3],
      labels: 4,
      blocks: [
        { kind: 'conv', filters: 6 },
        { kind: 'maxPool' },
        { kind: 'conv', filters: 8, padding: 'valid', batchNorm: false },
        { kind: 'avgPool' },
        { kind: 'flatten' },
        { kind: 'dense', units: 16 },
        { kind: 'dropout', rate: 0.2 },
      ],
    });
    expect(list(network.weights)).toEqual(await variableList(network.spec));
    const r = reference('tfjs/sequential12x16.json');
    const diff = relativeDifference(
      filterscopeLogits(network.spec, network.weights, Float32Array.from(r.inputs)),
      r.logits,
    );
    console.log('tfjs sequential12x16', diff, network.notes);
    expect(diff).toBeLessThan(1e-4);
    expect(network.notes.join('\n')).toMatch(/epsilon 0.001 folded into the running variance/);
    expect(network.metadata).toEqual({});
  });

  it("a functional 10x14x1 model (zero padding, Activation layer, conv bias + batch norm, global pooling): tfjs' logits (weights by path)", () => {
    const network = readTfjsLayers(
      text('tfjs/functional10x14/model.json'),
      new Map([['weights.bin', fixture('tfjs/functional10x14/weights.bin')]]),
    );
    expect(network.spec.blocks).toEqual([
      {
        kind: 'conv',
        filters: 5,
        stride: 2,
        padding: { top: 1, bottom: 1, left: 2, right: 1 },
        batchNorm: false,
      },
      { kind: 'conv', filters: 4, kernelSize: 1, activation: 'linear', bias: true },
      { kind: 'globalAvgPool' },
    ]);
    const r = reference('tfjs/functional10x14.json');
    const diff = relativeDifference(
      filterscopeLogits(network.spec, network.weights, Float32Array.from(r.inputs)),
      r.logits,
    );
    console.log('tfjs functional10x14', diff);
    expect(diff).toBeLessThan(1e-4);
  });
});

describe('writeTfjsLayers', () => {
  it.each([
    ['flatten', FLAT_SPEC],
    ['global pooling', GAP_SPEC],
  ])(
    'writes what tf.loadLayersModel loads, with the same logits as buildModel (%s)',
    async (_, spec) => {
      const weights = await randomWeights(spec, 5);
      const { modelJson, weightData } = writeTfjsLayers(spec, weights, {});
      const loaded = await loadWithTfjs(modelJson, weightData);
      const x = randomInputs(spec, 3, 9);
      const theirs = tf.tidy(
        () =>
          (
            loaded.predict(tf.tensor(x, [3, ...spec.inputShape])) as tf.Tensor
          ).arraySync() as number[][],
      );
      loaded.dispose();
      const diff = relativeDifference(theirs, filterscopeLogits(spec, weights, x));
      console.log('tfjs write', spec.name, diff);
      expect(diff).toBeLessThan(1e-6);
      expect(modelJson.weightsManifest).toEqual([
        { paths: ['weights.bin'], weights: expect.any(Array) },
      ]);
      expect(weightData.length).toBe(4 * weights.reduce((n, w) => n + w.values.length, 0));
    },
  );

  it('reads back what it writes: the same spec, weights and metadata', async () => {
    for (const spec of [FLAT_SPEC, GAP_SPEC]) {
      const weights = await randomWeights(spec, 3);
      const metadata = {
        normalization: {
          mean: spec.inputShape[2] === 3 ? [0.1, 0.2, 0.3] : [0.5],
          std: spec.inputShape[2] === 3 ? [0.9, 0.8, 0.7] : [0.25],
        },
        labelNames: Array.from({ length: spec.labels }, (_, i) => `label ${i}`),
      };
      const { modelJson, weightData } = writeTfjsLayers(spec, weights, metadata);
      const back = readTfjsLayers(JSON.stringify(modelJson), weightData);
      expect(back.spec).toEqual({ ...spec, name: spec.name.replace(/ /g, '_') });
      expect(back.weights).toEqual(weights);
      expect(back.metadata).toEqual(metadata);
      expect(back.notes).toEqual([]);
    }
  });
});

/** model.json text and weight bytes of a tfjs model, as `model.save` hands them to a handler. */
async function saved(model: tf.LayersModel): Promise<{ json: string; weights: Uint8Array }> {
  let out: { json: string; weights: Uint8Array } | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      out = {
        json: JSON.stringify({
          format: a.format,
          modelTopology: a.modelTopology,
          weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
        }),
        weights: new Uint8Array(tf.io.CompositeArrayBuffer.join(a.weightData)),
      };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  model.dispose();
  return out!;
}

function refusal(read: () => unknown): ImportError {
  try {
    read();
  } catch (error) {
    if (error instanceof ImportError) return error;
    throw error;
  }
  throw new Error('expected an ImportError, nothing was thrown');
}

describe('readTfjsLayers refuses what filterscope cannot express, naming the layer', () => {
  const image = (shape: (number | null)[], name = 'image'): tf.SymbolicTensor =>
    tf.input({ shape, name });
  const conv = (name: string, activation: 'relu' | 'tanh' = 'relu'): tf.layers.Layer =>
    tf.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same', activation, name });
  const head = (x: tf.SymbolicTensor): tf.SymbolicTensor =>
    tf.layers
      .dense({ units: 3, name: 'out' })
      .apply(tf.layers.flatten({ name: 'flat' }).apply(x)) as tf.SymbolicTensor;

  it('a residual Add: UNSUPPORTED_GRAPH', async () => {
    const input = image([6, 6, 2]);
    const y = conv('c1').apply(input) as tf.SymbolicTensor;
    const sum = tf.layers.add({ name: 'skip' }).apply([input, y]) as tf.SymbolicTensor;
    const { json, weights } = await saved(tf.model({ inputs: input, outputs: head(sum) }));
    const error = refusal(() => readTfjsLayers(json, weights));
    expect([error.code, error.node]).toEqual([
      'UNSUPPORTED_GRAPH',
      { name: 'skip', opType: 'Add' },
    ]);
    expect(error.message).toMatch(/residual connection/);
  });

  it('a second input: SECOND_INPUT', async () => {
    const [a, b] = [image([6, 6, 2], 'left'), image([6, 6, 2], 'right')];
    const joined = tf.layers.concatenate({ name: 'both' }).apply([a, b]) as tf.SymbolicTensor;
    const { json, weights } = await saved(tf.model({ inputs: [a, b], outputs: head(joined) }));
    const error = refusal(() => readTfjsLayers(json, weights));
    expect([error.code, error.node]).toEqual([
      'SECOND_INPUT',
      { name: 'right', opType: 'InputLayer' },
    ]);
  });

  it('an unsupported activation and an unsupported layer: UNSUPPORTED_OP with the supported list', async () => {
    const input = image([6, 6, 2]);
    const tanh = await saved(
      tf.model({
        inputs: input,
        outputs: head(conv('c1', 'tanh').apply(input) as tf.SymbolicTensor),
      }),
    );
    const error = refusal(() => readTfjsLayers(tanh.json, tanh.weights));
    expect([error.code, error.node, error.supported]).toEqual([
      'UNSUPPORTED_OP',
      { name: 'c1', opType: 'Conv2D' },
      ['relu', 'linear', 'softmax (last layer only)'],
    ]);
    const input2 = image([6, 6, 2]);
    const depthwise = tf.layers
      .depthwiseConv2d({ kernelSize: 3, name: 'dw' })
      .apply(input2) as tf.SymbolicTensor;
    const dw = await saved(tf.model({ inputs: input2, outputs: head(depthwise) }));
    const error2 = refusal(() => readTfjsLayers(dw.json, dw.weights));
    expect([error2.code, error2.node]).toEqual([
      'UNSUPPORTED_OP',
      { name: 'dw', opType: 'DepthwiseConv2D' },
    ]);
    expect(error2.supported).toContain('Conv2D');
  });

  it('a dynamic height and width: DYNAMIC_DIMENSION', async () => {
    const input = image([null, null, 2]);
    const x = tf.layers
      .globalAveragePooling2d({ name: 'gap' })
      .apply(conv('c1').apply(input)) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 3, name: 'out' }).apply(x) as tf.SymbolicTensor;
    const { json, weights } = await saved(tf.model({ inputs: input, outputs: out }));
    const error = refusal(() => readTfjsLayers(json, weights));
    expect([error.code, error.node]).toEqual([
      'DYNAMIC_DIMENSION',
      { name: 'image', opType: 'InputLayer' },
    ]);
  });

  it('files that are not a layers model, and weights that do not fit the manifest', () => {
    const json = text('tfjs/sequential12x16/model.json');
    const bin = fixture('tfjs/sequential12x16/weights.bin');
    const code = (read: () => unknown): string => refusal(read).code;
    expect(code(() => readTfjsLayers('', bin))).toBe('EMPTY');
    expect(code(() => readTfjsLayers('not json', bin))).toBe('NOT_A_MODEL');
    expect(
      code(() => readTfjsLayers('{"format": "graph-model", "modelTopology": {"node": []}}', bin)),
    ).toBe('UNSUPPORTED_FORMAT');
    expect(code(() => readTfjsLayers(json, bin.subarray(0, bin.length - 4)))).toBe('SHORT_WEIGHTS');
    expect(code(() => readTfjsLayers(json, new Uint8Array(bin.length + 4)))).toBe('EXTRA_WEIGHTS');
    const missing = refusal(() => readTfjsLayers(json, new Map([['other.bin', bin]])));
    expect([missing.code, missing.message]).toEqual([
      'MISSING_WEIGHTS',
      expect.stringMatching(
        /weight file "weights.bin" of the manifest was not given \(given: "other.bin"\)/,
      ),
    ]);
    // Found by base name: browsers upload files without their folders.
    const model = JSON.parse(json) as { weightsManifest: { paths: string[] }[] };
    model.weightsManifest[0]!.paths = ['shards/weights.bin'];
    expect(readTfjsLayers(JSON.stringify(model), new Map([['weights.bin', bin]])).spec.labels).toBe(
      4,
    );
  });
});
