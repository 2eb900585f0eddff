import type {
  ArchitectureSpec,
  Block,
  ConvBlock,
  ExplicitPadding,
  Padding,
} from '../architecture/index.js';
import {
  ArchitectureValidationError,
  BATCH_NORM_EPSILON,
  isValidArchitectureName,
  samePadding,
  summarize,
  validateArchitecture,
} from '../architecture/index.js';
import type { NamedArray } from '../contract/tensors.js';
import { ImportError, type SourceNode } from './errors.js';

/**
 * The chain of layers a reader builds (see builder.ts), and the spec and weights it becomes:
 * blocks with defaults left out, weights under filterscope's names in the engine's order.
 */

export interface BatchNormValues {
  readonly gamma: Float32Array;
  readonly beta: Float32Array;
  readonly mean: Float32Array;
  readonly variance: Float32Array;
  readonly epsilon: number;
}

export interface ConvItem {
  readonly kind: 'conv';
  readonly node: SourceNode;
  /** [size, size, inChannels, filters]. */
  readonly kernel: Float32Array;
  readonly size: number;
  readonly inChannels: number;
  readonly filters: number;
  readonly stride: number;
  readonly padding: Padding | ExplicitPadding;
  readonly bias: Float32Array | null;
  bn: (BatchNormValues & { readonly node: SourceNode }) | null;
  relu: SourceNode | null;
}

export interface DenseItem {
  readonly kind: 'dense';
  readonly node: SourceNode;
  /** [inFeatures, units], rows in H*W*C order. */
  readonly kernel: Float32Array;
  readonly inFeatures: number;
  readonly units: number;
  bias: Float32Array;
  relu: SourceNode | null;
}

export type Item =
  | ConvItem
  | DenseItem
  | { kind: 'maxPool' | 'avgPool'; node: SourceNode; size: number; stride: number }
  | { kind: 'globalAvgPool' | 'flatten'; node: SourceNode }
  | { kind: 'dropout'; node: SourceNode; rate: number };

/**
 * The spec and its weights from the chain of items. The last item must be a dense layer without
 * activation: the spec's implicit classifier. A flatten right before it is left to the
 * classifier (which flattens a map itself), so a spec written and read back compares equal.
 */
export function assemble(
  items: readonly Item[],
  inputShape: readonly [number, number, number],
  name: string,
  notes: string[],
): { spec: ArchitectureSpec; weights: NamedArray[] } {
  const classifier = items.at(-1);
  if (!classifier || classifier.kind !== 'dense') {
    throw new ImportError(
      'UNSUPPORTED_GRAPH',
      'the network must end with a dense layer, the classifier',
      classifier ? { node: classifier.node } : {},
    );
  }
  if (classifier.relu) {
    throw new ImportError(
      'UNSUPPORTED_GRAPH',
      "filterscope's classifier outputs logits: an activation after the last dense layer cannot be kept",
      { node: classifier.node.name === classifier.relu.name ? classifier.node : classifier.relu },
    );
  }
  const hidden = items.slice(0, -1);
  const blocks: Block[] = [];
  hidden.forEach((item, i) => {
    if (item.kind === 'flatten' && i === hidden.length - 1) return;
    blocks.push(toBlock(item));
  });
  const candidate: ArchitectureSpec = {
    name: isValidArchitectureName(name) ? name : 'imported',
    inputShape,
    labels: classifier.units,
    blocks,
  };
  let spec: ArchitectureSpec;
  try {
    spec = validateArchitecture(candidate);
  } catch (error) {
    if (!(error instanceof ArchitectureValidationError)) throw error;
    throw new ImportError(
      'INVALID_ARCHITECTURE',
      `the network read is not a valid architecture: ${error.message}`,
      { cause: error },
    );
  }
  return { spec, weights: namedWeights(items, spec, notes) };
}

/** Every variable in `readVariables(buildModel(spec))` order (engine/model.ts). */
function namedWeights(
  items: readonly Item[],
  spec: ArchitectureSpec,
  notes: string[],
): NamedArray[] {
  const named = summarize(spec).layers.filter((l) => l.kind === 'conv' || l.kind === 'dense');
  const withWeights = items.filter(
    (i): i is ConvItem | DenseItem => i.kind === 'conv' || i.kind === 'dense',
  );
  const out: NamedArray[] = [];
  const add = (name: string, shape: number[], values: Float32Array): void => {
    out.push({ name, shape, values });
  };
  withWeights.forEach((item, i) => {
    const layer = named[i]?.name as string;
    if (item.kind === 'dense') {
      add(`${layer}/kernel`, [item.inFeatures, item.units], item.kernel);
      add(`${layer}/bias`, [item.units], item.bias);
      return;
    }
    const f = item.filters;
    add(`${layer}/kernel`, [item.size, item.size, item.inChannels, f], item.kernel);
    if (item.bias) add(`${layer}/bias`, [f], item.bias);
    if (item.bn) {
      add(`${layer}_bn/gamma`, [f], item.bn.gamma);
      add(`${layer}_bn/beta`, [f], item.bn.beta);
      add(`${layer}_bn/moving_mean`, [f], item.bn.mean);
      add(`${layer}_bn/moving_variance`, [f], foldEpsilon(item.bn, notes));
    }
  });
  for (const w of out) {
    const bad = w.values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      throw new ImportError(
        'BAD_WEIGHTS',
        `weight ${w.name} has a value that is not finite (${w.values[bad]} at ${bad})`,
      );
    }
  }
  return out;
}

/**
 * filterscope's batch norm divides by sqrt(variance + 1e-5). Another epsilon e is folded into the
 * running variance, variance + e - 1e-5, so that inference gives the same values. (Training the
 * imported network further uses 1e-5 on batch statistics, a negligible difference.)
 */
function foldEpsilon(
  bn: BatchNormValues & { readonly node: SourceNode },
  notes: string[],
): Float32Array {
  const shift = bn.epsilon - BATCH_NORM_EPSILON;
  // Exporters store 1e-5 as a float32 (9.99999975e-6): no shift worth a note.
  if (Math.abs(shift) < 1e-9) return bn.variance;
  notes.push(
    `${bn.node.opType} ${JSON.stringify(bn.node.name)}: epsilon ${bn.epsilon} folded into the running variance (filterscope uses ${BATCH_NORM_EPSILON})`,
  );
  return Float32Array.from(bn.variance, (v) => v + shift);
}

/**
 * 'same' where the zeros are TensorFlow's 'same' at this input size, 'valid' for no zeros, else
 * the zeros as they are.
 */
export function canonicalPadding(
  pads: ExplicitPadding,
  h: number,
  w: number,
  size: number,
  stride: number,
): Padding | ExplicitPadding {
  // 'same' first: where both fit (a 1x1 kernel) it is the default, left out of the block.
  const [top, bottom] = samePadding(h, size, stride);
  const [left, right] = samePadding(w, size, stride);
  if (pads.top === top && pads.bottom === bottom && pads.left === left && pads.right === right) {
    return 'same';
  }
  if (pads.top === 0 && pads.bottom === 0 && pads.left === 0 && pads.right === 0) return 'valid';
  return pads;
}

/** The block of an item, with defaults left out (as the presets write them). */
function toBlock(item: Item): Block {
  switch (item.kind) {
    case 'conv': {
      const bn = item.bn !== null;
      const bias = item.bias !== null;
      const block: ConvBlock = {
        kind: 'conv',
        filters: item.filters,
        ...(item.size !== 3 ? { kernelSize: item.size } : {}),
        ...(item.stride !== 1 ? { stride: item.stride } : {}),
        ...(item.padding !== 'same' ? { padding: item.padding } : {}),
        ...(bn ? {} : { batchNorm: false }),
        ...(bias === !bn ? {} : { bias }),
        ...(item.relu ? {} : { activation: 'linear' as const }),
      };
      return block;
    }
    case 'dense':
      return {
        kind: 'dense',
        units: item.units,
        ...(item.relu ? {} : { activation: 'linear' as const }),
      };
    case 'maxPool':
    case 'avgPool':
      return {
        kind: item.kind,
        ...(item.size !== 2 ? { poolSize: item.size } : {}),
        ...(item.stride !== item.size ? { stride: item.stride } : {}),
      };
    case 'globalAvgPool':
    case 'flatten':
      return { kind: item.kind };
    case 'dropout':
      return { kind: 'dropout', rate: item.rate };
  }
}
