import type {
  ArchitectureSpec,
  ConvBlock,
  DenseBlock,
  ExplicitPadding,
} from '../architecture/index.js';
import {
  CONV_DEFAULTS,
  convHasBias,
  resolvePadding,
  summarize,
  validateArchitecture,
} from '../architecture/index.js';
import type { NamedArray } from '../contract/tensors.js';

/**
 * A spec and its weights as the writers walk them: one step per summarized layer, with the
 * layer's settings resolved and its weights looked up by filterscope's names (engine/model.ts).
 */

export type ExportStep =
  | {
      readonly kind: 'conv';
      readonly name: string;
      /** [k, k, inChannels, filters] (HWIO). */
      readonly kernel: NamedArray;
      readonly bias: NamedArray | null;
      readonly size: number;
      readonly stride: number;
      /** As written in the spec ('same', 'valid' or explicit). */
      readonly padding: ConvBlock['padding'] & {};
      /** The zeros per side at this layer's input size. */
      readonly pads: ExplicitPadding;
      readonly bn: {
        readonly gamma: NamedArray;
        readonly beta: NamedArray;
        readonly mean: NamedArray;
        readonly variance: NamedArray;
      } | null;
      readonly relu: boolean;
    }
  | {
      readonly kind: 'maxPool' | 'avgPool';
      readonly name: string;
      readonly size: number;
      readonly stride: number;
    }
  | { readonly kind: 'globalAvgPool'; readonly name: string }
  | { readonly kind: 'dropout'; readonly name: string; readonly rate: number }
  | {
      readonly kind: 'flatten';
      readonly name: string;
      /** The [h, w, c] map it flattens. */
      readonly map: readonly [number, number, number];
    }
  | {
      readonly kind: 'dense';
      readonly name: string;
      /** [inFeatures, units], rows in H*W*C order. */
      readonly kernel: NamedArray;
      readonly bias: NamedArray;
      readonly relu: boolean;
      /** The map a flatten before it read (dropouts between), whose rows ONNX wants in C*H*W order. */
      readonly flattenedMap: readonly [number, number, number] | null;
      readonly classifier: boolean;
    };

/**
 * Checks the spec (validateArchitecture) and that `weights` are exactly its variables (names and
 * shapes, any order), and returns the steps. Throws an Error naming what does not match.
 */
export function exportPlan(spec: ArchitectureSpec, weights: readonly NamedArray[]): ExportStep[] {
  const checked = validateArchitecture(spec);
  const byName = new Map(weights.map((w) => [w.name, w]));
  const used = new Set<string>();
  const get = (name: string, shape: readonly number[]): NamedArray => {
    const w = byName.get(name);
    if (!w) throw new Error(`no weights named ${name} (the spec needs [${shape.join(', ')}])`);
    const count = shape.reduce((a, b) => a * b, 1);
    if (w.shape.join('x') !== shape.join('x') || w.values.length !== count) {
      throw new Error(
        `weights ${name} have shape [${w.shape.join(', ')}] and ${w.values.length} values, the spec needs [${shape.join(', ')}]`,
      );
    }
    used.add(name);
    return w;
  };
  const steps: ExportStep[] = [];
  let flattenedMap: readonly [number, number, number] | null = null;
  for (const info of summarize(checked).layers) {
    const block = info.blockIndex === null ? null : checked.blocks[info.blockIndex];
    const name = info.name;
    const [h = 0, w = 0, c = 0] = info.inputShape;
    switch (info.kind) {
      case 'conv': {
        const conv = block as ConvBlock;
        const size = info.kernelSize ?? CONV_DEFAULTS.kernelSize;
        const stride = conv.stride ?? CONV_DEFAULTS.stride;
        const f = conv.filters;
        const padding = conv.padding ?? CONV_DEFAULTS.padding;
        const bn = conv.batchNorm ?? CONV_DEFAULTS.batchNorm;
        const perChannel = (weight: string): NamedArray => get(`${name}_bn/${weight}`, [f]);
        steps.push({
          kind: 'conv',
          name,
          kernel: get(`${name}/kernel`, [size, size, c, f]),
          bias: convHasBias(conv) ? get(`${name}/bias`, [f]) : null,
          size,
          stride,
          padding,
          pads: resolvePadding(padding, h, w, size, stride),
          bn: bn
            ? {
                gamma: perChannel('gamma'),
                beta: perChannel('beta'),
                mean: perChannel('moving_mean'),
                variance: perChannel('moving_variance'),
              }
            : null,
          relu: (conv.activation ?? CONV_DEFAULTS.activation) === 'relu',
        });
        break;
      }
      case 'maxPool':
      case 'avgPool': {
        const size = info.kernelSize ?? 2;
        const stride = (block && 'stride' in block ? block.stride : undefined) ?? size;
        steps.push({ kind: info.kind, name, size, stride });
        break;
      }
      case 'globalAvgPool':
        steps.push({ kind: 'globalAvgPool', name });
        break;
      case 'dropout':
        steps.push({ kind: 'dropout', name, rate: (block as { rate: number }).rate });
        break;
      case 'flatten':
        flattenedMap = [h, w, c];
        steps.push({ kind: 'flatten', name, map: [h, w, c] });
        break;
      case 'dense': {
        const classifier = info.blockIndex === null;
        const units = info.filters ?? checked.labels;
        const inFeatures = info.inputShape[0] ?? 0;
        steps.push({
          kind: 'dense',
          name,
          kernel: get(`${name}/kernel`, [inFeatures, units]),
          bias: get(`${name}/bias`, [units]),
          relu: !classifier && ((block as DenseBlock).activation ?? 'relu') === 'relu',
          flattenedMap,
          classifier,
        });
        flattenedMap = null;
        break;
      }
    }
  }
  const extra = weights.filter((w) => !used.has(w.name)).map((w) => w.name);
  if (extra.length > 0) throw new Error(`weights not in the spec: ${extra.join(', ')}`);
  return steps;
}
