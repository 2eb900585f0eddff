import * as tf from '@tensorflow/tfjs';
import type { ArchitectureSpec, ConvBlock, DenseBlock, LayerInfo } from '../architecture/index.js';
import {
  BATCH_NORM_EPSILON,
  BATCH_NORM_MOMENTUM,
  CONV_DEFAULTS,
  convHasBias,
  summarize,
} from '../architecture/index.js';
import { Random } from '../data/random.js';
import type { NamedArray } from '../contract/tensors.js';
import type { NamedVariable } from './optimizer.js';

/**
 * TensorFlow.js models built from architecture specs. Layer names and shapes come from
 * `summarize(spec)`, the same resolution the API shows, so there is one reading of a spec.
 *
 * A summarized conv layer `convN` becomes up to four tfjs layers: `convN_pad` (zeros, for
 * explicit padding only), the convolution `convN` (Keras layout kernel
 * `[k, k, inChannels, filters]`, by default no bias when batch norm follows), `convN_bn` and
 * `convN_relu`. Its output as METHOD.md means it (after batch norm and activation) is the last of
 * them: see `blockOutputLayerName`.
 */

/** PyTorch's BatchNorm2d defaults in Keras terms: running = 0.9 * running + 0.1 * batch. */
export { BATCH_NORM_EPSILON, BATCH_NORM_MOMENTUM };

/**
 * Dropout whose random mask comes from a seed set before every training step, so that a run
 * resumed from a checkpoint draws the same masks as an uninterrupted one. (tfjs' Dropout takes
 * one seed for its lifetime, which would repeat the same mask at every step.)
 */
export class SeededDropout extends tf.layers.Layer {
  static readonly className = 'FilterscopeSeededDropout';
  /** Seed of the next training-mode call; set by `setDropoutSeed`. */
  stepSeed = 0;
  readonly rate: number;

  constructor(args: { rate: number; name: string }) {
    super({ name: args.name });
    this.rate = args.rate;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (!x) throw new Error(`${this.name}: expected one input tensor`);
    if (kwargs.training !== true || this.rate === 0) return x;
    return tf.tidy(() => tf.dropout(x, this.rate, undefined, this.stepSeed));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate };
  }
}
tf.serialization.registerClass(SeededDropout);

/**
 * Builds an uncompiled model from a (valid) spec: input `[batch, ...spec.inputShape]`, output
 * logits `[batch, spec.labels]` (softmax belongs to the loss). Kernels are He-normal (tfjs'
 * truncated variant) with a seed per layer drawn from `seed`; biases and BN beta are 0, BN gamma
 * and moving variance 1. The same spec and seed give bit-identical initial weights.
 *
 * The caller owns the model: `model.dispose()` frees its variables.
 */
export function buildModel(spec: ArchitectureSpec, seed: number): tf.LayersModel {
  const { layers } = summarize(spec);
  const seeds = new Random(seed ^ 0x5eed1417);
  const kernelInitializer = (): ReturnType<typeof tf.initializers.heNormal> =>
    tf.initializers.heNormal({ seed: seeds.int(0x7fffffff) });
  const input = tf.input({ shape: [...spec.inputShape], name: 'input' });
  let x = input;
  for (const info of layers) {
    for (const layer of tfLayersFor(spec, info, kernelInitializer)) {
      x = layer.apply(x) as tf.SymbolicTensor;
    }
  }
  return tf.model({ inputs: input, outputs: x, name: safeModelName(spec.name) });
}

function tfLayersFor(
  spec: ArchitectureSpec,
  info: LayerInfo,
  kernelInitializer: () => ReturnType<typeof tf.initializers.heNormal>,
): tf.layers.Layer[] {
  const block = info.blockIndex === null ? null : spec.blocks[info.blockIndex];
  const name = info.name;
  switch (info.kind) {
    case 'conv': {
      const conv = block as ConvBlock;
      const bn = conv.batchNorm ?? CONV_DEFAULTS.batchNorm;
      const padding = conv.padding ?? CONV_DEFAULTS.padding;
      const out: tf.layers.Layer[] = [];
      if (typeof padding === 'object') {
        // tfjs convolutions take 'same' or 'valid' only: explicit zeros are a layer of their own.
        const { top, bottom, left, right } = padding;
        out.push(
          tf.layers.zeroPadding2d({
            name: `${name}_pad`,
            padding: [
              [top, bottom],
              [left, right],
            ],
          }),
        );
      }
      out.push(
        tf.layers.conv2d({
          name,
          filters: conv.filters,
          kernelSize: conv.kernelSize ?? CONV_DEFAULTS.kernelSize,
          strides: conv.stride ?? CONV_DEFAULTS.stride,
          padding: typeof padding === 'object' ? 'valid' : padding,
          useBias: convHasBias(conv),
          kernelInitializer: kernelInitializer(),
          biasInitializer: 'zeros',
        }),
      );
      if (bn) {
        out.push(
          tf.layers.batchNormalization({
            name: `${name}_bn`,
            axis: -1,
            momentum: BATCH_NORM_MOMENTUM,
            epsilon: BATCH_NORM_EPSILON,
          }),
        );
      }
      if ((conv.activation ?? CONV_DEFAULTS.activation) === 'relu') {
        out.push(tf.layers.reLU({ name: `${name}_relu` }));
      }
      return out;
    }
    case 'maxPool':
    case 'avgPool': {
      const args = {
        name,
        poolSize: info.kernelSize ?? 2,
        strides: poolStride(spec, info),
        padding: 'valid' as const,
      };
      return [
        info.kind === 'maxPool' ? tf.layers.maxPooling2d(args) : tf.layers.averagePooling2d(args),
      ];
    }
    case 'globalAvgPool':
      return [tf.layers.globalAveragePooling2d({ name })];
    case 'dropout':
      return [new SeededDropout({ name, rate: (block as { rate: number }).rate })];
    case 'flatten':
      return [tf.layers.flatten({ name })];
    case 'dense': {
      const classifier = info.blockIndex === null;
      const activation = classifier ? 'linear' : ((block as DenseBlock).activation ?? 'relu');
      return [
        tf.layers.dense({
          name,
          units: info.filters ?? spec.labels,
          activation,
          kernelInitializer: kernelInitializer(),
          biasInitializer: 'zeros',
        }),
      ];
    }
  }
}

function poolStride(spec: ArchitectureSpec, info: LayerInfo): number {
  const block = info.blockIndex === null ? undefined : spec.blocks[info.blockIndex];
  const stride = block && 'stride' in block ? block.stride : undefined;
  return stride ?? info.kernelSize ?? 2;
}

/** tfjs names must match /^[A-Za-z0-9][-A-Za-z0-9._/]*$/; spec names may contain spaces. */
function safeModelName(name: string): string {
  const cleaned = name.replace(/[^-A-Za-z0-9._/]/g, '_');
  return /^[A-Za-z0-9]/.test(cleaned) ? cleaned : `m${cleaned}`;
}

/**
 * The tfjs layer whose output is summarized layer `layerName`'s output: for a conv layer the
 * value after its batch norm and activation (`conv3_relu`, `conv3_bn` or `conv3`), otherwise
 * the layer of that name. Throws when the spec has no such layer.
 */
export function blockOutputLayerName(spec: ArchitectureSpec, layerName: string): string {
  const info = summarize(spec).layers.find((l) => l.name === layerName);
  if (!info) throw new Error(`architecture ${spec.name} has no layer named ${layerName}`);
  if (info.kind !== 'conv') return layerName;
  const block = spec.blocks[info.blockIndex ?? -1] as ConvBlock;
  if ((block.activation ?? CONV_DEFAULTS.activation) === 'relu') return `${layerName}_relu`;
  return (block.batchNorm ?? CONV_DEFAULTS.batchNorm) ? `${layerName}_bn` : layerName;
}

/**
 * A model with one output per summarized layer in `layerNames` (e.g. every conv layer, each
 * `[batch, h, w, filters]` after batch norm and activation), sharing `model`'s variables.
 * Call it with `predict` (inference mode: batch norm uses running statistics).
 *
 * The probe model owns no variables: its `dispose()` does nothing, so disposing it can never
 * free the base model's weights; dispose `model` when done with both.
 */
export function buildProbeModel(
  model: tf.LayersModel,
  spec: ArchitectureSpec,
  layerNames: readonly string[],
): tf.LayersModel {
  if (layerNames.length === 0) throw new Error('buildProbeModel: layerNames is empty');
  const outputs = layerNames.map(
    (name) => model.getLayer(blockOutputLayerName(spec, name)).output as tf.SymbolicTensor,
  );
  const probe = tf.model({ inputs: model.inputs, outputs, name: `${model.name}_probe` });
  // tfjs' Container.dispose() would dispose every shared layer, i.e. the base model's weights.
  probe.dispose = () => ({ refCountAfterDispose: 0, numDisposedVariables: 0 });
  return probe;
}

/** A model variable under its stable name (tfjs makes `variable.name` unique per process). */
export interface ModelVariable extends NamedVariable {
  readonly trainable: boolean;
}

/**
 * Every variable of `model` in layer order, named `<layer>/<weight>` (`conv1/kernel`,
 * `conv1_bn/gamma`, `conv1_bn/moving_mean`, `classifier/bias`, ...): names that do not depend on
 * how many models the process built before, so checkpoints carry across processes.
 */
export function modelVariables(model: tf.LayersModel): ModelVariable[] {
  const out: ModelVariable[] = [];
  for (const layer of model.layers) {
    for (const w of layer.weights) {
      out.push({
        name: w.originalName,
        variable: w.read() as tf.Variable,
        trainable: w.trainable,
      });
    }
  }
  return out;
}

/** Copies every variable's values out (float32), in `modelVariables` order. */
export async function readVariables(model: tf.LayersModel): Promise<NamedArray[]> {
  return Promise.all(
    modelVariables(model).map(async (v) => ({
      name: v.name,
      shape: v.variable.shape,
      // Copied: the cpu backend hands out its live buffer.
      values: Float32Array.from((await v.variable.data()) as Float32Array),
    })),
  );
}

/**
 * Overwrites every variable of `model` with `values` (as from `readVariables` or a checkpoint).
 * Names and shapes must match the model exactly, in any order.
 */
export function writeVariables(model: tf.LayersModel, values: readonly NamedArray[]): void {
  const vars = modelVariables(model);
  const byName = new Map(values.map((v) => [v.name, v]));
  if (byName.size !== vars.length || values.length !== vars.length) {
    throw new Error(`got ${values.length} weight tensors, the model has ${vars.length} variables`);
  }
  for (const v of vars) {
    const saved = byName.get(v.name);
    if (!saved) throw new Error(`no values for model variable ${v.name}`);
    if (saved.shape.join('x') !== v.variable.shape.join('x')) {
      throw new Error(
        `variable ${v.name} has shape [${v.variable.shape.join(', ')}], got values of shape [${saved.shape.join(', ')}]`,
      );
    }
    tf.tidy(() => v.variable.assign(tf.tensor(saved.values, v.variable.shape, 'float32')));
  }
}

/**
 * Gives every `SeededDropout` of `model` its mask seed for the next training step: `seed` plus
 * the layer's position, so that two dropout layers never share a mask.
 */
export function setDropoutSeed(model: tf.LayersModel, seed: number): void {
  model.layers.forEach((layer, i) => {
    if (layer instanceof SeededDropout) layer.stepSeed = (seed + i * 0x9e3779b1) >>> 0;
  });
}
