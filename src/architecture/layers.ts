import type { ArchitectureSpec, Block, ExplicitPadding, Padding } from './spec.js';
import { CONV_DEFAULTS, POOL_DEFAULT_SIZE, convHasBias } from './spec.js';

export type LayerKind =
  'conv' | 'maxPool' | 'avgPool' | 'globalAvgPool' | 'dropout' | 'flatten' | 'dense';

/** One layer of a resolved architecture, with its shapes and counts. */
export interface LayerInfo {
  /** Position in the layer list, from 0. */
  readonly index: number;
  /** Index of the block it comes from; null for the implicit classifier and its flatten. */
  readonly blockIndex: number | null;
  /** `conv1`, `maxPool2`, `dense1`, ... and `classifier` for the output layer. */
  readonly name: string;
  readonly kind: LayerKind;
  /** Conv filters or dense units; null for other kinds. */
  readonly filters: number | null;
  /** Conv kernel side or pool size; null for other kinds (global pooling included). */
  readonly kernelSize: number | null;
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  /**
   * Every stored value: kernel, bias (when the layer has one) and, for a conv with batch norm,
   * its 4 values per channel (gamma, beta, moving mean, moving variance).
   */
  readonly parameterCount: number;
  /** Forward FLOPs per image, 2 per multiply-add of convolutions and dense layers only. */
  readonly flops: number;
}

export interface ArchitectureSummary {
  readonly layers: readonly LayerInfo[];
  readonly parameterCount: number;
  readonly flops: number;
  /** Index (in `layers`) of every conv layer, in order: the probe points of phases 2-3. */
  readonly convLayerIndices: readonly number[];
}

/** Output side of a convolution or pooling window over `size` pixels. */
export function windowOutputSize(
  size: number,
  window: number,
  stride: number,
  padding: 'same' | 'valid',
): number {
  return padding === 'same' ? Math.ceil(size / stride) : Math.floor((size - window) / stride) + 1;
}

/**
 * Zeros [before, after] that TensorFlow's 'same' adds on one axis of `size` pixels: the total
 * that keeps `ceil(size / stride)` outputs, the odd pixel after.
 */
export function samePadding(size: number, window: number, stride: number): [number, number] {
  const total = Math.max((Math.ceil(size / stride) - 1) * stride + window - size, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

/** A conv block's padding as zeros per side, for an `height` x `width` input. */
export function resolvePadding(
  padding: Padding | ExplicitPadding,
  height: number,
  width: number,
  window: number,
  stride: number,
): ExplicitPadding {
  if (padding === 'valid') return { top: 0, bottom: 0, left: 0, right: 0 };
  if (padding === 'same') {
    const [top, bottom] = samePadding(height, window, stride);
    const [left, right] = samePadding(width, window, stride);
    return { top, bottom, left, right };
  }
  return padding;
}

/** Output [height, width] of a convolution: 'same', 'valid' or explicit zeros per side. */
export function convOutputSize(
  height: number,
  width: number,
  window: number,
  stride: number,
  padding: Padding | ExplicitPadding,
): [number, number] {
  if (typeof padding === 'string') {
    return [
      windowOutputSize(height, window, stride, padding),
      windowOutputSize(width, window, stride, padding),
    ];
  }
  return [
    Math.floor((height + padding.top + padding.bottom - window) / stride) + 1,
    Math.floor((width + padding.left + padding.right - window) / stride) + 1,
  ];
}

/**
 * Resolves a spec into layers with shapes and counts. Assumes the spec is valid
 * (see `validateArchitecture`); it throws on shapes it cannot compute.
 */
export function summarize(spec: ArchitectureSpec): ArchitectureSummary {
  const layers: LayerInfo[] = [];
  const counters = new Map<string, number>();
  let shape: number[] = [...spec.inputShape];
  const push = (
    blockIndex: number | null,
    kind: LayerKind,
    base: string,
    fields: Pick<LayerInfo, 'filters' | 'kernelSize' | 'outputShape' | 'parameterCount' | 'flops'>,
  ): void => {
    const n = (counters.get(base) ?? 0) + 1;
    counters.set(base, n);
    const name = base === 'classifier' ? base : `${base}${n}`;
    layers.push({ index: layers.length, blockIndex, name, kind, inputShape: shape, ...fields });
    shape = [...fields.outputShape];
  };
  spec.blocks.forEach((block, i) => addBlock(block, i));
  if (shape.length !== 1) {
    push(null, 'flatten', 'flatten', flattenFields(shape));
  }
  const inFeatures = shape[0] ?? 0;
  push(null, 'dense', 'classifier', {
    filters: spec.labels,
    kernelSize: null,
    outputShape: [spec.labels],
    parameterCount: inFeatures * spec.labels + spec.labels,
    flops: 2 * inFeatures * spec.labels,
  });

  function addBlock(block: Block, i: number): void {
    switch (block.kind) {
      case 'conv': {
        const [h = 0, w = 0, c = 0] = shape;
        const k = block.kernelSize ?? CONV_DEFAULTS.kernelSize;
        const s = block.stride ?? CONV_DEFAULTS.stride;
        const p = block.padding ?? CONV_DEFAULTS.padding;
        const bn = block.batchNorm ?? CONV_DEFAULTS.batchNorm;
        const [oh, ow] = convOutputSize(h, w, k, s, p);
        const kernel = k * k * c * block.filters;
        const perFilter = (convHasBias(block) ? 1 : 0) + (bn ? 4 : 0);
        push(i, 'conv', 'conv', {
          filters: block.filters,
          kernelSize: k,
          outputShape: [oh, ow, block.filters],
          parameterCount: kernel + perFilter * block.filters,
          flops: 2 * kernel * oh * ow,
        });
        return;
      }
      case 'maxPool':
      case 'avgPool': {
        const [h = 0, w = 0, c = 0] = shape;
        const size = block.poolSize ?? POOL_DEFAULT_SIZE;
        const s = block.stride ?? size;
        push(i, block.kind, block.kind, {
          filters: null,
          kernelSize: size,
          outputShape: [
            windowOutputSize(h, size, s, 'valid'),
            windowOutputSize(w, size, s, 'valid'),
            c,
          ],
          parameterCount: 0,
          flops: 0,
        });
        return;
      }
      case 'globalAvgPool':
        push(i, 'globalAvgPool', 'globalAvgPool', {
          filters: null,
          kernelSize: null,
          outputShape: [shape[2] ?? 0],
          parameterCount: 0,
          flops: 0,
        });
        return;
      case 'dropout':
        push(i, 'dropout', 'dropout', {
          filters: null,
          kernelSize: null,
          outputShape: shape,
          parameterCount: 0,
          flops: 0,
        });
        return;
      case 'flatten':
        push(i, 'flatten', 'flatten', flattenFields(shape));
        return;
      case 'dense': {
        const inFeatures = shape[0] ?? 0;
        push(i, 'dense', 'dense', {
          filters: block.units,
          kernelSize: null,
          outputShape: [block.units],
          parameterCount: inFeatures * block.units + block.units,
          flops: 2 * inFeatures * block.units,
        });
        return;
      }
    }
  }

  return {
    layers,
    parameterCount: layers.reduce((sum, l) => sum + l.parameterCount, 0),
    flops: layers.reduce((sum, l) => sum + l.flops, 0),
    convLayerIndices: layers.filter((l) => l.kind === 'conv').map((l) => l.index),
  };
}

function flattenFields(
  shape: readonly number[],
): Pick<LayerInfo, 'filters' | 'kernelSize' | 'outputShape' | 'parameterCount' | 'flops'> {
  return {
    filters: null,
    kernelSize: null,
    outputShape: [shape.reduce((a, b) => a * b, 1)],
    parameterCount: 0,
    flops: 0,
  };
}
