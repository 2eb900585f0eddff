import { onnx } from 'onnx-proto';
import { ImportError, type SourceNode } from './errors.js';
import { fold } from './onnx-fold.js';
import { Attributes, nodeOf, tensorValues, type Constant } from './onnx-values.js';

/**
 * An ONNX graph seen from its single image input: which tensors carry the image (data) and which
 * are constants (initializers, Constant nodes, and shape arithmetic such as PyTorch's
 * `x.view(x.size(0), -1)`, which computes [batch, -1] from Shape/Gather/Unsqueeze/Concat).
 * Constants are evaluated on demand; the batch size, unknown, is NaN in them.
 */

export class OnnxGraph {
  readonly initializers = new Map<string, onnx.ITensorProto>();
  private readonly producers = new Map<string, onnx.INodeProto>();
  private readonly constants = new Map<string, Constant>();
  /** Shapes of the data tensors reached so far (NCHW, or [N, F] once flat). */
  readonly shapes = new Map<string, readonly number[]>();
  /** Tensors computed from the image. */
  readonly data = new Set<string>();

  constructor(
    readonly graph: onnx.IGraphProto,
    readonly opset: number,
  ) {
    for (const t of graph.initializer ?? []) this.initializers.set(t.name ?? '', t);
    for (const node of graph.node ?? [])
      for (const out of node.output ?? []) this.producers.set(out, node);
  }

  /** The first node that reads `tensor`. */
  consumer(tensor: string): onnx.INodeProto | undefined {
    return (this.graph.node ?? []).find((n) => (n.input ?? []).includes(tensor));
  }

  /**
   * Marks what is computed from `input` and returns those nodes in order. A Shape node reads
   * only the shape of its input, so its output is a constant.
   */
  dataNodes(input: string): onnx.INodeProto[] {
    this.data.add(input);
    const out: onnx.INodeProto[] = [];
    for (const node of this.graph.node ?? []) {
      if (node.opType === 'Shape') continue;
      if (!(node.input ?? []).some((n) => this.data.has(n))) continue;
      out.push(node);
      for (const o of node.output ?? []) if (o) this.data.add(o);
    }
    return out;
  }

  /** A constant input of `user`, evaluated if a node computes it. */
  constant(name: string, user: SourceNode): Constant {
    const cached = this.constants.get(name);
    if (cached) return cached;
    const init = this.initializers.get(name);
    let value: Constant;
    if (init) {
      value = tensorValues(init, user);
    } else if (this.data.has(name)) {
      throw new ImportError(
        'UNSUPPORTED_GRAPH',
        `input ${JSON.stringify(name)} must be a constant (a weight, a shape), but it is computed from the image`,
        { node: user },
      );
    } else {
      const producer = this.producers.get(name);
      if (!producer) {
        throw new ImportError(
          'MISSING_WEIGHTS',
          `tensor ${JSON.stringify(name)} is neither in the file's initializers nor computed by a node`,
          { node: user },
        );
      }
      value = this.evaluate(producer);
    }
    this.constants.set(name, value);
    return value;
  }

  /** Float values of a constant input (a weight). */
  floats(name: string, user: SourceNode): { dims: readonly number[]; values: Float32Array } {
    const c = this.constant(name, user);
    const values = c.floats ?? (c.ints ? Float32Array.from(c.ints) : null);
    if (!values) throw new ImportError('BAD_WEIGHTS', `${name} has no values`, { node: user });
    return { dims: c.dims, values };
  }

  /** Integer values of a constant input (axes, pads, a shape). */
  ints(name: string, user: SourceNode): readonly number[] {
    const c = this.constant(name, user);
    return c.ints ?? Array.from(c.floats ?? []);
  }

  private evaluate(node: onnx.INodeProto): Constant {
    const user = nodeOf(node);
    const op = node.opType ?? '';
    const a = new Attributes(node);
    const inputs = node.input ?? [];
    const arg = (i: number): Constant => this.constant(inputs[i] ?? '', user);
    const vector = (values: number[]): Constant => ({
      dims: [values.length],
      floats: null,
      ints: values,
    });
    switch (op) {
      case 'Constant':
        return a.constant();
      case 'Shape': {
        const of = inputs[0] ?? '';
        const shape = this.shapes.get(of) ?? (this.data.has(of) ? undefined : arg(0).dims);
        if (!shape) {
          throw new ImportError('UNSUPPORTED_GRAPH', `the shape of ${of} is not known here`, {
            node: user,
          });
        }
        const rank = shape.length;
        const at = (v: number): number => Math.min(Math.max(v < 0 ? v + rank : v, 0), rank);
        return vector(shape.slice(at(a.int('start', 0)), at(a.int('end', rank))));
      }
      default:
        return fold(op, inputs, arg, a, this.opset, user);
    }
  }
}
