import { onnx } from 'onnx-proto';
import type { ArchitectureSpec } from '../architecture/index.js';
import { BATCH_NORM_EPSILON, BATCH_NORM_MOMENTUM } from '../architecture/index.js';
import type { NamedArray } from '../contract/tensors.js';
import { exportPlan, type ExportStep } from './export-plan.js';
import { bytesFromFloat32, hwioToOihw, permuteFlattenRows } from './layout.js';
import { METADATA_KEYS, type NetworkMetadata } from './types.js';

/**
 * Writes a network as an ONNX model: opset 13, IR version 7 (onnx 1.12's checker and every
 * current runtime take both), one input `input` [batch, C, H, W] (float, batch symbolic), one
 * output `logits` [batch, labels]. Inference graph: Conv (explicit pads), BatchNormalization,
 * Relu, MaxPool/AveragePool, GlobalAveragePool + Flatten, Flatten, Gemm, Dropout (an identity
 * in inference, kept so that the spec reads back the same).
 */

export const ONNX_OPSET = 13;
export const ONNX_IR_VERSION = 7;

const { AttributeType } = onnx.AttributeProto;

export const ints = (name: string, values: readonly number[]): onnx.IAttributeProto => ({
  name,
  type: AttributeType.INTS,
  ints: [...values],
});
export const int = (name: string, i: number): onnx.IAttributeProto => ({
  name,
  type: AttributeType.INT,
  i,
});
const float = (name: string, f: number): onnx.IAttributeProto => ({
  name,
  type: AttributeType.FLOAT,
  f,
});

export const tensor = (
  name: string,
  dims: readonly number[],
  values: Float32Array,
): onnx.ITensorProto => ({
  name,
  dims: [...dims],
  dataType: onnx.TensorProto.DataType.FLOAT,
  rawData: bytesFromFloat32(values),
});

export const valueInfo = (
  name: string,
  dims: readonly (number | string)[],
): onnx.IValueInfoProto => ({
  name,
  type: {
    tensorType: {
      elemType: onnx.TensorProto.DataType.FLOAT,
      shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
    },
  },
});

/**
 * The .onnx file of a network. `weights` must be exactly the spec's variables
 * (`readVariables(buildModel(spec))`, a checkpoint's weights). Conv kernels are written OIHW and
 * the first dense layer after a flatten gets its rows in C*H*W order, as ONNX (PyTorch) expects;
 * `metadata` goes into metadata_props as JSON (`filterscope.normalization`,
 * `filterscope.labelNames`). Throws an Error when the weights do not match the spec.
 */
export function writeOnnx(
  spec: ArchitectureSpec,
  weights: readonly NamedArray[],
  metadata: NetworkMetadata = {},
): Uint8Array {
  const { nodes, initializers } = onnxNodes(exportPlan(spec, weights), 'input');
  const [h, w, c] = spec.inputShape;
  const props: onnx.IStringStringEntryProto[] = [];
  if (metadata.normalization) {
    props.push({ key: METADATA_KEYS.normalization, value: JSON.stringify(metadata.normalization) });
  }
  if (metadata.labelNames) {
    props.push({ key: METADATA_KEYS.labelNames, value: JSON.stringify(metadata.labelNames) });
  }
  const model: onnx.IModelProto = {
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'filterscope',
    docString:
      `${spec.name}: input [batch, ${c}, ${h}, ${w}], each pixel x of channel c given as ` +
      `(x / 255 - mean[c]) / std[c] with ${METADATA_KEYS.normalization}; output logits for ` +
      `${spec.labels} labels (${METADATA_KEYS.labelNames}).`,
    metadataProps: props,
    graph: {
      name: spec.name,
      node: nodes,
      initializer: initializers,
      input: [valueInfo('input', ['batch', c, h, w])],
      output: [valueInfo('logits', ['batch', spec.labels])],
    },
  };
  return onnx.ModelProto.encode(model).finish();
}

/**
 * The ONNX nodes and initializers of `steps` (exportPlan), reading NCHW tensor `input`. Each
 * step's output is named as filterscope's layers are: a conv `conv3`, its batch norm `conv3_bn`,
 * its ReLU `conv3_relu` (blockOutputLayerName), a pooling layer by its name.
 */
export function onnxNodes(
  steps: readonly ExportStep[],
  input: string,
): { nodes: onnx.INodeProto[]; initializers: onnx.ITensorProto[] } {
  const nodes: onnx.INodeProto[] = [];
  const initializers: onnx.ITensorProto[] = [];
  let x = input;
  const node = (
    opType: string,
    name: string,
    inputs: readonly string[],
    attribute: onnx.IAttributeProto[] = [],
    output = name,
  ): void => {
    nodes.push({ opType, name, input: [x, ...inputs], output: [output], attribute });
    x = output;
  };
  const init = (w: NamedArray, dims: readonly number[] = w.shape, values = w.values): string => {
    initializers.push(tensor(w.name, dims, values));
    return w.name;
  };
  for (const step of steps) {
    switch (step.kind) {
      case 'conv': {
        const [k, , c, f] = step.kernel.shape as [number, number, number, number];
        const kernel = init(
          step.kernel,
          [f, c, k, k],
          hwioToOihw(step.kernel.values, [k, k, c, f]),
        );
        const { top, left, bottom, right } = step.pads;
        node('Conv', step.name, step.bias ? [kernel, init(step.bias)] : [kernel], [
          ints('kernel_shape', [k, k]),
          ints('strides', [step.stride, step.stride]),
          ints('pads', [top, left, bottom, right]),
          ints('dilations', [1, 1]),
          int('group', 1),
        ]);
        if (step.bn) {
          const { gamma, beta, mean, variance } = step.bn;
          node(
            'BatchNormalization',
            `${step.name}_bn`,
            [init(gamma), init(beta), init(mean), init(variance)],
            [float('epsilon', BATCH_NORM_EPSILON), float('momentum', BATCH_NORM_MOMENTUM)],
          );
        }
        if (step.relu) node('Relu', `${step.name}_relu`, []);
        break;
      }
      case 'maxPool':
      case 'avgPool':
        node(
          step.kind === 'maxPool' ? 'MaxPool' : 'AveragePool',
          step.name,
          [],
          [
            ints('kernel_shape', [step.size, step.size]),
            ints('strides', [step.stride, step.stride]),
          ],
        );
        break;
      case 'globalAvgPool':
        // ONNX keeps [N, C, 1, 1]; filterscope's block is flat.
        node('GlobalAveragePool', step.name, []);
        node('Flatten', `${step.name}_flatten`, [], [int('axis', 1)]);
        break;
      case 'dropout': {
        const ratio = `${step.name}/ratio`;
        initializers.push(tensor(ratio, [], Float32Array.of(step.rate)));
        node('Dropout', step.name, [ratio]);
        break;
      }
      case 'flatten':
        node('Flatten', step.name, [], [int('axis', 1)]);
        break;
      case 'dense': {
        const [inFeatures, units] = step.kernel.shape as [number, number];
        const map = step.flattenedMap;
        const rows = map
          ? permuteFlattenRows(step.kernel.values, map, units, 'chw')
          : step.kernel.values;
        const kernel = init(step.kernel, [inFeatures, units], rows);
        const output = step.classifier ? 'logits' : step.name;
        node('Gemm', step.name, [kernel, init(step.bias)], [], output);
        if (step.relu) node('Relu', `${step.name}_relu`, []);
        break;
      }
    }
  }
  return { nodes, initializers };
}
