import type { ArchitectureSpec } from '../architecture/index.js';
import { BATCH_NORM_EPSILON, BATCH_NORM_MOMENTUM } from '../architecture/index.js';
import type { NamedArray } from '../contract/tensors.js';
import { exportPlan } from './export-plan.js';
import { bytesFromFloat32 } from './layout.js';
import { METADATA_KEYS, type NetworkMetadata } from './types.js';

/**
 * Writes a network in TensorFlow.js' layers format: model.json (`format: 'layers-model'`, a
 * Keras `Sequential` topology) and one weight file, `weights.bin`. Layers carry filterscope's
 * names (`conv1`, `conv1_bn`, `conv1_relu`, `maxPool1`, `classifier`...), so the weights keep
 * theirs (`conv1/kernel`...); explicit padding is a ZeroPadding2D (`conv1_pad`) before a 'valid'
 * Conv2D, as engine/model.ts builds it.
 */

/** The one weight file's path in the manifest. */
export const TFJS_WEIGHTS_PATH = 'weights.bin';

/** The parts of a model.json that filterscope writes and reads. */
export interface TfjsModelJson {
  readonly format: 'layers-model';
  readonly generatedBy: string;
  readonly convertedBy: null;
  readonly modelTopology: {
    readonly class_name: 'Sequential';
    readonly config: { readonly name: string; readonly layers: readonly KerasLayer[] };
    readonly keras_version: string;
    readonly backend: string;
  };
  readonly weightsManifest: readonly {
    readonly paths: readonly string[];
    readonly weights: readonly { name: string; shape: number[]; dtype: 'float32' }[];
  }[];
  readonly userDefinedMetadata?: Record<string, unknown>;
}

export interface KerasLayer {
  readonly class_name: string;
  readonly config: Record<string, unknown>;
}

/**
 * model.json as an object (write it with JSON.stringify) and the bytes of `weights.bin`
 * (float32, little-endian, in manifest order). `tf.loadLayersModel` loads them; `metadata` goes
 * into `userDefinedMetadata`. Throws an Error when the weights do not match the spec.
 */
export function writeTfjsLayers(
  spec: ArchitectureSpec,
  weights: readonly NamedArray[],
  metadata: NetworkMetadata = {},
): { modelJson: TfjsModelJson; weightData: Uint8Array } {
  const layers: KerasLayer[] = [];
  const manifest: NamedArray[] = [];
  const channelsLast = { data_format: 'channels_last' };
  const layer = (class_name: string, name: string, config: Record<string, unknown> = {}): void => {
    const first =
      layers.length === 0
        ? { batch_input_shape: [null, ...spec.inputShape], dtype: 'float32' }
        : {};
    layers.push({ class_name, config: { name, trainable: true, ...first, ...config } });
  };
  for (const step of exportPlan(spec, weights)) {
    switch (step.kind) {
      case 'conv': {
        const explicit = typeof step.padding === 'object';
        if (explicit) {
          const { top, bottom, left, right } = step.pads;
          layer('ZeroPadding2D', `${step.name}_pad`, {
            padding: [
              [top, bottom],
              [left, right],
            ],
            ...channelsLast,
          });
        }
        layer('Conv2D', step.name, {
          filters: step.kernel.shape[3],
          kernel_size: [step.size, step.size],
          strides: [step.stride, step.stride],
          padding: explicit ? 'valid' : step.padding,
          ...channelsLast,
          dilation_rate: [1, 1],
          activation: 'linear',
          use_bias: step.bias !== null,
        });
        manifest.push(step.kernel, ...(step.bias ? [step.bias] : []));
        if (step.bn) {
          layer('BatchNormalization', `${step.name}_bn`, {
            axis: -1,
            momentum: BATCH_NORM_MOMENTUM,
            epsilon: BATCH_NORM_EPSILON,
            center: true,
            scale: true,
          });
          manifest.push(step.bn.gamma, step.bn.beta, step.bn.mean, step.bn.variance);
        }
        if (step.relu) layer('ReLU', `${step.name}_relu`, { max_value: null });
        break;
      }
      case 'maxPool':
      case 'avgPool':
        layer(step.kind === 'maxPool' ? 'MaxPooling2D' : 'AveragePooling2D', step.name, {
          pool_size: [step.size, step.size],
          strides: [step.stride, step.stride],
          padding: 'valid',
          ...channelsLast,
        });
        break;
      case 'globalAvgPool':
        layer('GlobalAveragePooling2D', step.name, channelsLast);
        break;
      case 'dropout':
        layer('Dropout', step.name, { rate: step.rate, noise_shape: null, seed: null });
        break;
      case 'flatten':
        layer('Flatten', step.name);
        break;
      case 'dense':
        layer('Dense', step.name, {
          units: step.bias.shape[0],
          activation: step.relu ? 'relu' : 'linear',
          use_bias: true,
        });
        manifest.push(step.kernel, step.bias);
        break;
    }
  }
  const weightData = new Uint8Array(manifest.reduce((n, w) => n + 4 * w.values.length, 0));
  let at = 0;
  for (const w of manifest) {
    weightData.set(bytesFromFloat32(w.values), at);
    at += 4 * w.values.length;
  }
  const userDefinedMetadata: Record<string, unknown> = {};
  if (metadata.normalization)
    userDefinedMetadata[METADATA_KEYS.normalization] = metadata.normalization;
  if (metadata.labelNames) userDefinedMetadata[METADATA_KEYS.labelNames] = metadata.labelNames;
  return {
    modelJson: {
      format: 'layers-model',
      generatedBy: 'filterscope',
      convertedBy: null,
      modelTopology: {
        class_name: 'Sequential',
        config: { name: safeName(spec.name), layers },
        keras_version: 'tfjs-layers 4.22.0',
        backend: 'tensor_flow.js',
      },
      weightsManifest: [
        {
          paths: [TFJS_WEIGHTS_PATH],
          weights: manifest.map((w) => ({ name: w.name, shape: [...w.shape], dtype: 'float32' })),
        },
      ],
      ...(Object.keys(userDefinedMetadata).length > 0 ? { userDefinedMetadata } : {}),
    },
    weightData,
  };
}

/** tfjs names match /^[A-Za-z0-9][-A-Za-z0-9._/]*$/; spec names may hold spaces (as engine/model.ts). */
function safeName(name: string): string {
  const cleaned = name.replace(/[^-A-Za-z0-9._/]/g, '_');
  return /^[A-Za-z0-9]/.test(cleaned) ? cleaned : `m${cleaned}`;
}
