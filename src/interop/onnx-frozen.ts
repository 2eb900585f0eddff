import { onnx } from 'onnx-proto';
import type { ArchitectureSpec } from '../architecture/index.js';
import type { NamedArray } from '../contract/tensors.js';
import type { ProbePoint } from '../contract/probe-points.js';
import { exportPlan, type ExportStep } from './export-plan.js';
import { int, ints, ONNX_IR_VERSION, ONNX_OPSET, onnxNodes, valueInfo } from './onnx-write.js';

/**
 * The frozen prefix of a network as an ONNX model, for the probe's feature pass on a native
 * runtime: the layers up to the deepest probe point, one input `input` [batch, H, W, C] (NHWC,
 * standardised pixels, as the probe feeds TensorFlow.js) and one output per probe point
 * (`probe<i>`, in `points` order) holding its features `[batch, P * F]` flattened channels-last
 * (flat index p * F + k), after the point's extra 2x2 max-poolings: exactly what the heads read.
 * Layers after the deepest probe point (dense layers, the classifier) are left out.
 */
export function writeFrozenOnnx(
  spec: ArchitectureSpec,
  weights: readonly NamedArray[],
  points: readonly ProbePoint[],
): Uint8Array {
  if (points.length === 0) throw new Error('writeFrozenOnnx: no probe points');
  const steps = exportPlan(spec, weights);
  const last = Math.max(...points.map((p) => steps.findIndex((s) => s.name === p.source)));
  const missing = points.find((p) => !steps.some((s) => s.name === p.source));
  if (missing) throw new Error(`writeFrozenOnnx: ${spec.name} has no layer ${missing.source}`);
  const transpose = (name: string, input: string, perm: readonly number[]): onnx.INodeProto => ({
    opType: 'Transpose',
    name,
    input: [input],
    output: [name],
    attribute: [ints('perm', perm)],
  });
  const { nodes, initializers } = onnxNodes(steps.slice(0, last + 1), 'input_nchw');
  nodes.unshift(transpose('input_nchw', 'input', [0, 3, 1, 2]));
  const outputs: onnx.IValueInfoProto[] = [];
  points.forEach((point, i) => {
    let x = outputName(steps.find((s) => s.name === point.source)!);
    for (let r = 0; r < point.extraPoolings; r++) {
      const name = `probe${i}_pool${r}`;
      nodes.push({
        opType: 'MaxPool',
        name,
        input: [x],
        output: [name],
        attribute: [ints('kernel_shape', [2, 2]), ints('strides', [2, 2])],
      });
      x = name;
    }
    nodes.push(transpose(`probe${i}_nhwc`, x, [0, 2, 3, 1]));
    const output = `probe${i}`;
    nodes.push({
      opType: 'Flatten',
      name: output,
      input: [`probe${i}_nhwc`],
      output: [output],
      attribute: [int('axis', 1)],
    });
    outputs.push(valueInfo(output, ['batch', point.features]));
  });
  // Weights of the layers left out are not written.
  const used = new Set(nodes.flatMap((n) => n.input ?? []));
  const [h, w, c] = spec.inputShape;
  const model: onnx.IModelProto = {
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'filterscope',
    docString: `${spec.name} frozen prefix: input [batch, ${h}, ${w}, ${c}] standardised, one output per probe point`,
    graph: {
      name: `${spec.name}_frozen`,
      node: nodes,
      initializer: initializers.filter((t) => used.has(t.name ?? '')),
      input: [valueInfo('input', ['batch', h, w, c])],
      output: outputs,
    },
  };
  return onnx.ModelProto.encode(model).finish();
}

/** The tensor a step's last node writes (onnxNodes' naming). */
function outputName(step: ExportStep): string {
  if (step.kind !== 'conv') return step.name;
  if (step.relu) return `${step.name}_relu`;
  return step.bn ? `${step.name}_bn` : step.name;
}
