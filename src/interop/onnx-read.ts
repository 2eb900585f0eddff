import { onnx } from 'onnx-proto';
import { NetworkBuilder } from './builder.js';
import { ImportError, type SourceNode } from './errors.js';
import { OnnxGraph } from './onnx-graph.js';
import { applyNode, fromBuilder } from './onnx-ops.js';
import { nodeOf, toInt } from './onnx-values.js';
import { checkMetadata, METADATA_KEYS, type ImportedNetwork } from './types.js';

/**
 * Reads an ONNX model (what torch.onnx.export writes) into a spec and channels-last weights.
 * The graph must be one chain from one image input [batch, C, H, W] to one output; see
 * `SUPPORTED_ONNX_OPS` and docs/METHOD.md ("Importing networks").
 */

/** The ops a network may be made of. */
export const SUPPORTED_ONNX_OPS = [
  'Conv',
  'BatchNormalization',
  'Relu',
  'MaxPool',
  'AveragePool',
  'GlobalAveragePool',
  'ReduceMean',
  'Pad',
  'Flatten',
  'Reshape',
  'Squeeze',
  'Gemm',
  'MatMul',
  'Add',
  'Dropout',
  'Identity',
  'Softmax',
  'LogSoftmax',
] as const;

const AXES = ['batch', 'channels', 'height', 'width'];

/** Decodes and reads an .onnx file. Throws `ImportError`. */
export function readOnnx(bytes: Uint8Array): ImportedNetwork {
  const model = decode(bytes);
  const graph = model.graph as onnx.IGraphProto;
  const entry = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  const g = new OnnxGraph(graph, entry ? toInt(entry.version) : 1);
  const { name: inputName, batch, chw } = imageInput(g);
  const nodes = g.dataNodes(inputName);
  nodes.forEach(checkNode(g));
  const [c, h, w] = chw;
  const builder = new NetworkBuilder([h, w, c]);
  g.shapes.set(inputName, [batch, c, h, w]);
  let current = inputName;
  nodes.forEach((node, i) => {
    const user = nodeOf(node);
    const reads = (node.input ?? []).filter((n) => g.data.has(n));
    if (reads[0] !== current) {
      throw new ImportError(
        'UNSUPPORTED_GRAPH',
        `reads ${JSON.stringify(reads[0])}, not the output of the layer before it: the graph branches, and filterscope's networks are one chain`,
        { node: user },
      );
    }
    const x = g.shapes.get(current) as readonly number[];
    const last = i === nodes.length - 1;
    const y = applyNode(g, builder, node, x, last) ?? fromBuilder(x[0] as number, builder.shape);
    current = node.output?.[0] ?? '';
    g.shapes.set(current, y);
  });
  const outputs = graph.output ?? [];
  if (outputs.length !== 1 || outputs[0]?.name !== current) {
    throw new ImportError(
      'UNSUPPORTED_GRAPH',
      `the graph must have one output, the end of the chain (${JSON.stringify(current)}); it has ${outputs.map((o) => JSON.stringify(o.name)).join(', ') || 'none'}`,
    );
  }
  const { spec, weights } = builder.finish(graph.name || 'imported');
  const props = new Map((model.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
  const notes = [...builder.notes];
  const parse = (key: string): unknown => {
    const text = props.get(key);
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return null;
    }
  };
  const metadata = checkMetadata(
    {
      normalization: parse(METADATA_KEYS.normalization),
      labelNames: parse(METADATA_KEYS.labelNames),
    },
    spec,
    notes,
  );
  return { format: 'onnx', spec, weights, metadata, notes };
}

function decode(bytes: Uint8Array): onnx.ModelProto {
  if (bytes.length === 0) throw new ImportError('EMPTY', 'the ONNX file is empty');
  if (bytes[0] === 0x7b) {
    throw new ImportError(
      'NOT_A_MODEL',
      'this is JSON, not an ONNX protobuf (a TensorFlow.js model.json? import it as tfjs)',
    );
  }
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (error) {
    const message = (error as Error).message;
    if (/index out of range/.test(message)) {
      throw new ImportError(
        'TRUNCATED',
        `the ONNX file ends in the middle of a message after ${bytes.length} bytes (an interrupted upload or copy?)`,
        { cause: error },
      );
    }
    throw new ImportError('NOT_A_MODEL', `not an ONNX model: ${message}`, { cause: error });
  }
  if (!model.graph || (model.graph.node ?? []).length === 0 || toInt(model.irVersion) < 1) {
    throw new ImportError('NOT_A_MODEL', 'not an ONNX model: no graph of nodes in the file');
  }
  return model;
}

/** The one image input, [batch, C, H, W] with C, H and W fixed; batch NaN when symbolic. */
function imageInput(g: OnnxGraph): {
  name: string;
  batch: number;
  chw: [number, number, number];
} {
  const inputs = (g.graph.input ?? []).filter((i) => !g.initializers.has(i.name ?? ''));
  const at = (tensor: string): { node?: SourceNode } => {
    const consumer = g.consumer(tensor);
    return consumer ? { node: nodeOf(consumer) } : {};
  };
  const first = inputs[0];
  if (!first) throw new ImportError('UNSUPPORTED_INPUT', 'the graph has no input');
  if (inputs.length > 1) {
    const names = inputs.map((i) => JSON.stringify(i.name)).join(', ');
    throw new ImportError(
      'SECOND_INPUT',
      `the graph has ${inputs.length} inputs (${names}); filterscope's networks take one image batch`,
      at(inputs[1]?.name ?? ''),
    );
  }
  const name = first.name ?? '';
  const type = first.type?.tensorType;
  const dims = type?.shape?.dim ?? [];
  if (!type || type.elemType !== onnx.TensorProto.DataType.FLOAT || dims.length !== 4) {
    const shape = dims.map((d) => (isSet(d.dimValue) ? toInt(d.dimValue) : d.dimParam || '?'));
    throw new ImportError(
      'UNSUPPORTED_INPUT',
      `input ${JSON.stringify(name)} is ${type ? `a ${onnx.TensorProto.DataType[type.elemType ?? 0] ?? '?'} tensor [${shape.join(', ')}]` : 'not a tensor'}; filterscope takes float images [batch, channels, height, width]`,
      at(name),
    );
  }
  const values = dims.map((d) => (isSet(d.dimValue) ? toInt(d.dimValue) : NaN));
  for (let axis = 1; axis < 4; axis++) {
    const v = values[axis] as number;
    if (!(v > 0)) {
      const dim = dims[axis];
      const label = dim?.dimParam ? JSON.stringify(dim.dimParam) : 'unknown';
      throw new ImportError(
        'DYNAMIC_DIMENSION',
        `input ${JSON.stringify(name)} has a dynamic ${AXES[axis]} (${label}, axis ${axis} of NCHW); only the batch may be dynamic: export with a fixed input size`,
        at(name),
      );
    }
  }
  const [batch = NaN, c = 0, h = 0, w = 0] = values;
  return { name, batch: batch > 0 ? batch : NaN, chw: [c, h, w] };
}

const isSet = <T>(v: T | null | undefined): v is T => v !== null && v !== undefined;

/** Refuses an op filterscope does not take, or a node joining two branches. */
function checkNode(g: OnnxGraph): (node: onnx.INodeProto) => void {
  return (node) => {
    const user = nodeOf(node);
    const op = node.opType ?? '';
    const joined = new Set((node.input ?? []).filter((n) => g.data.has(n)));
    if (joined.size > 1) {
      const why =
        op === 'Add' || op === 'Sum'
          ? 'adds two branches of the graph (a residual connection)'
          : op === 'Concat'
            ? 'concatenates branches of the graph'
            : `combines ${joined.size} branches of the graph`;
      throw new ImportError(
        'UNSUPPORTED_GRAPH',
        `${why}; filterscope's networks are one chain of layers`,
        { node: user },
      );
    }
    const domain = node.domain ?? '';
    if (
      (domain !== '' && domain !== 'ai.onnx') ||
      !(SUPPORTED_ONNX_OPS as readonly string[]).includes(op)
    ) {
      throw new ImportError(
        'UNSUPPORTED_OP',
        `op ${domain ? `${domain}.` : ''}${op} is not supported`,
        { node: user, supported: SUPPORTED_ONNX_OPS },
      );
    }
  };
}
