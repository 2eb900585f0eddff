import type { ArchitectureSpec, ExplicitPadding } from '../architecture/index.js';
import type { NamedArray } from '../contract/tensors.js';
import { assemble, canonicalPadding, type BatchNormValues, type Item } from './chain.js';
import { ImportError, type SourceNode } from './errors.js';
import { permuteFlattenRows } from './layout.js';

/**
 * Turns a chain of layers read from a file (either format) into an architecture spec and its
 * weights under filterscope's names. The readers feed it in network order with weights already
 * channels-last; it tracks the map's shape, places batch norm and ReLU into conv and dense blocks,
 * permutes the first dense layer's rows after a channels-first flatten, and refuses what the
 * blocks cannot express, naming the node.
 */

export type { BatchNormValues };

const ZERO_PADS: ExplicitPadding = { top: 0, bottom: 0, left: 0, right: 0 };

export class NetworkBuilder {
  private readonly items: Item[] = [];
  /** [h, w, c] for a map, [n] once flat. */
  private current: number[];
  /** Zeros of a Pad / ZeroPadding2D waiting for the convolution that takes them. */
  private pending: { node: SourceNode; pads: ExplicitPadding } | null = null;
  /** The map a flatten read and its order, until the dense layer that reads it. */
  private flattened: { map: [number, number, number]; order: 'chw' | 'hwc' } | null = null;
  /** What the import changed that a user may want to know (dropped ops, folded values). */
  readonly notes: string[] = [];

  constructor(readonly inputShape: readonly [number, number, number]) {
    this.current = [...inputShape];
  }

  /** The shape reached so far: [h, w, c] or [n]. */
  get shape(): readonly number[] {
    return this.current;
  }

  private map(node: SourceNode, what: string): [number, number, number] {
    if (this.current.length !== 3) {
      throw new ImportError(
        'UNSUPPORTED_GRAPH',
        `${what} needs a spatial map, but follows a flatten, a dense layer or a global pooling`,
        { node },
      );
    }
    return this.current as [number, number, number];
  }

  private noPendingPad(): void {
    if (this.pending) {
      throw new ImportError(
        'UNSUPPORTED_GRAPH',
        'zero padding is taken only right before a convolution',
        { node: this.pending.node },
      );
    }
  }

  /** Zeros around the map, for the next convolution. */
  pad(node: SourceNode, pads: ExplicitPadding): void {
    this.map(node, 'padding');
    const p = this.pending?.pads ?? ZERO_PADS;
    this.pending = {
      node,
      pads: {
        top: p.top + pads.top,
        bottom: p.bottom + pads.bottom,
        left: p.left + pads.left,
        right: p.right + pads.right,
      },
    };
  }

  conv(
    node: SourceNode,
    args: {
      kernel: Float32Array;
      size: number;
      inChannels: number;
      filters: number;
      stride: number;
      pads: ExplicitPadding;
      bias: Float32Array | null;
    },
  ): void {
    const [h, w, c] = this.map(node, 'a convolution');
    if (args.inChannels !== c) {
      throw new ImportError(
        'BAD_WEIGHTS',
        `the kernel takes ${args.inChannels} input channels, the map has ${c}`,
        { node },
      );
    }
    const extra = this.pending?.pads ?? ZERO_PADS;
    this.pending = null;
    const pads = {
      top: args.pads.top + extra.top,
      bottom: args.pads.bottom + extra.bottom,
      left: args.pads.left + extra.left,
      right: args.pads.right + extra.right,
    };
    const oh = Math.floor((h + pads.top + pads.bottom - args.size) / args.stride) + 1;
    const ow = Math.floor((w + pads.left + pads.right - args.size) / args.stride) + 1;
    if (oh < 1 || ow < 1) {
      throw new ImportError(
        'UNSUPPORTED_GRAPH',
        `a ${args.size}x${args.size} kernel does not fit its ${h}x${w} input`,
        { node },
      );
    }
    this.items.push({
      kind: 'conv',
      node,
      ...args,
      padding: canonicalPadding(pads, h, w, args.size, args.stride),
      bn: null,
      relu: null,
    });
    this.current = [oh, ow, args.filters];
  }

  batchNorm(node: SourceNode, values: BatchNormValues): void {
    this.noPendingPad();
    const last = this.items.at(-1);
    if (!last || last.kind !== 'conv' || last.bn || last.relu) {
      throw new ImportError(
        'UNSUPPORTED_GRAPH',
        'batch norm is taken only right after a convolution (a conv block is convolution, batch norm, activation)',
        { node },
      );
    }
    if (values.gamma.length !== last.filters) {
      throw new ImportError(
        'BAD_WEIGHTS',
        `has ${values.gamma.length} channels, the convolution ${last.filters} filters`,
        { node },
      );
    }
    last.bn = { ...values, node };
  }

  /**
   * A ReLU becomes the activation of the last conv or dense layer. It may follow max-pooling,
   * dropout or flatten blocks after that layer, which commute with it exactly (max is
   * monotonic; dropout scales by a non-negative factor), as in PyTorch's `relu(max_pool(conv))`.
   */
  relu(node: SourceNode): void {
    this.noPendingPad();
    for (let i = this.items.length - 1; i >= 0; i--) {
      const item = this.items[i] as Item;
      if (item.kind === 'conv' || item.kind === 'dense') {
        if (item.relu) return; // relu(relu(x)) = relu(x)
        item.relu = node;
        if (i !== this.items.length - 1) {
          this.notes.push(
            `${node.opType} ${JSON.stringify(node.name)} moved before the pooling/dropout after ${item.node.opType} ${JSON.stringify(item.node.name)} (the same values)`,
          );
        }
        return;
      }
      if (item.kind !== 'maxPool' && item.kind !== 'dropout' && item.kind !== 'flatten') break;
    }
    throw new ImportError(
      'UNSUPPORTED_GRAPH',
      'a ReLU is taken as the activation of a conv or dense layer, possibly after a max-pooling; here it follows an average pooling or the input',
      { node },
    );
  }

  pool(node: SourceNode, kind: 'maxPool' | 'avgPool', size: number, stride: number): void {
    this.noPendingPad();
    const [h, w, c] = this.map(node, 'a pooling');
    const oh = Math.floor((h - size) / stride) + 1;
    const ow = Math.floor((w - size) / stride) + 1;
    if (oh < 1 || ow < 1) {
      throw new ImportError(
        'UNSUPPORTED_GRAPH',
        `a ${size}x${size} window does not fit its ${h}x${w} input`,
        { node },
      );
    }
    this.items.push({ kind, node, size, stride });
    this.current = [oh, ow, c];
  }

  globalAvgPool(node: SourceNode): void {
    this.noPendingPad();
    const [, , c] = this.map(node, 'a global pooling');
    this.items.push({ kind: 'globalAvgPool', node });
    this.current = [c];
  }

  /** A flatten of a map in `order`; nothing on a flat input (e.g. after a global pooling). */
  flatten(node: SourceNode, order: 'chw' | 'hwc'): void {
    this.noPendingPad();
    if (this.current.length !== 3) return;
    const map = this.current as [number, number, number];
    this.flattened = { map, order };
    this.items.push({ kind: 'flatten', node });
    this.current = [map[0] * map[1] * map[2]];
  }

  /**
   * A dense layer, kernel [inFeatures, units]. After a flatten in C*H*W order its rows are
   * permuted to filterscope's H*W*C order.
   */
  dense(
    node: SourceNode,
    args: { kernel: Float32Array; inFeatures: number; units: number; bias: Float32Array | null },
  ): void {
    this.noPendingPad();
    if (this.current.length !== 1) {
      throw new ImportError(
        'UNSUPPORTED_GRAPH',
        `a dense layer needs a flat input, got a ${this.current.join('x')} map (flatten it first)`,
        { node },
      );
    }
    if (args.inFeatures !== this.current[0]) {
      throw new ImportError(
        'BAD_WEIGHTS',
        `takes ${args.inFeatures} features, its input has ${this.current[0]}`,
        { node },
      );
    }
    let kernel = args.kernel;
    const from = this.flattened;
    this.flattened = null;
    if (from && from.order === 'chw' && from.map[0] * from.map[1] > 1 && from.map[2] > 1) {
      kernel = permuteFlattenRows(kernel, from.map, args.units, 'hwc');
    }
    this.items.push({
      kind: 'dense',
      node,
      kernel,
      inFeatures: args.inFeatures,
      units: args.units,
      bias: args.bias ?? new Float32Array(args.units),
      relu: null,
    });
    this.current = [args.units];
  }

  /** A constant added after a dense layer (ONNX's MatMul + Add): its bias. */
  addBias(node: SourceNode, values: Float32Array): void {
    const last = this.items.at(-1);
    if (!last || last.kind !== 'dense' || last.relu) {
      throw new ImportError(
        'UNSUPPORTED_GRAPH',
        'adding a constant is taken only as the bias of a dense layer (MatMul + Add)',
        { node },
      );
    }
    const bias = Float32Array.from(last.bias);
    for (let j = 0; j < bias.length; j++)
      bias[j] = (bias[j] as number) + (values.length === 1 ? values[0] : values[j])!;
    last.bias = bias;
  }

  dropout(node: SourceNode, rate: number): void {
    this.noPendingPad();
    if (!(rate >= 0 && rate < 1)) {
      throw new ImportError('UNSUPPORTED_GRAPH', `dropout rate ${rate} is not in [0, 1)`, {
        node,
      });
    }
    this.items.push({ kind: 'dropout', node, rate });
  }

  /**
   * The spec and its weights. The last layer must be a dense layer without activation: the
   * spec's implicit classifier (see chain.ts `assemble`).
   */
  finish(name: string): { spec: ArchitectureSpec; weights: NamedArray[] } {
    this.noPendingPad();
    return assemble(this.items, this.inputShape, name, this.notes);
  }
}
