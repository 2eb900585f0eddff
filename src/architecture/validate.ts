import type { ArchitectureSpec, Block } from './spec.js';
import { BLOCK_KINDS, CONV_DEFAULTS, POOL_DEFAULT_SIZE } from './spec.js';
import { convOutputSize, summarize, windowOutputSize } from './layers.js';

/** One reason a spec is refused: where (`path`, e.g. `blocks[3].filters`), what it got, why. */
export interface SpecIssue {
  readonly path: string;
  /** Index of the offending block, or null for top-level fields. */
  readonly blockIndex: number | null;
  readonly field: string;
  readonly value: unknown;
  readonly message: string;
}

export class ArchitectureValidationError extends Error {
  constructor(readonly issues: readonly SpecIssue[]) {
    super(issues.map((i) => i.message).join('; '));
    this.name = 'ArchitectureValidationError';
  }
}

export interface ValidationLimits {
  /** Largest total parameter count accepted. */
  readonly maxParameters: number;
}

export const DEFAULT_LIMITS: ValidationLimits = { maxParameters: 200_000_000 };

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9 ._/+-]{0,99}$/;
const MAX_SIDE = 4096;
const MAX_CHANNELS = 64;
const MAX_LABELS = 10_000;
const MAX_BLOCKS = 256;
const MAX_WIDTH = 65_536;
const MAX_PAD = 64;
const PAD_SIDES = ['top', 'bottom', 'left', 'right'] as const;

const FIELDS: Record<Block['kind'], readonly string[]> = {
  conv: ['kind', 'filters', 'kernelSize', 'stride', 'padding', 'batchNorm', 'bias', 'activation'],
  maxPool: ['kind', 'poolSize', 'stride'],
  avgPool: ['kind', 'poolSize', 'stride'],
  globalAvgPool: ['kind'],
  dropout: ['kind', 'rate'],
  flatten: ['kind'],
  dense: ['kind', 'units', 'activation'],
};

/** Whether `name` is acceptable as an architecture's name. */
export function isValidArchitectureName(name: string): boolean {
  return NAME_PATTERN.test(name);
}

const show = (value: unknown): string => {
  if (typeof value === 'string') {
    // Cut as api/errors.ts `shorten` cuts; the issue's `value` keeps the whole string.
    const text = JSON.stringify(value);
    return text.length <= 120 ? text : `${text.slice(0, 120)}… (${text.length} characters)`;
  }
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

/**
 * Checks an untrusted spec (parsed JSON or GraphQL input) and returns it typed, with absent
 * optional fields left absent. Throws `ArchitectureValidationError` listing every issue found:
 * unknown block kinds or fields, non-positive or non-integer sizes, kernels larger than their
 * (padded) input, spatial sizes collapsing to zero, dense layers on spatial input, convolutions
 * and poolings on flat input (after a flatten, a dense or a global pooling), and a parameter
 * count over `limits.maxParameters`.
 */
export function validateArchitecture(
  input: unknown,
  limits: ValidationLimits = DEFAULT_LIMITS,
): ArchitectureSpec {
  const issues: SpecIssue[] = [];
  const fail = (blockIndex: number | null, field: string, value: unknown, why: string): void => {
    const path = blockIndex === null ? field : `blocks[${blockIndex}].${field}`;
    issues.push({ path, blockIndex, field, value, message: `${path}: ${why}, got ${show(value)}` });
  };
  const isInt = (v: unknown, min: number, max: number): v is number =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
  const intField = (
    blockIndex: number | null,
    field: string,
    value: unknown,
    min: number,
    max: number,
  ): void => {
    if (!isInt(value, min, max)) {
      fail(blockIndex, field, value, `must be an integer from ${min} to ${max}`);
    }
  };

  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    fail(null, 'spec', input, 'must be an object');
    throw new ArchitectureValidationError(issues);
  }
  const raw = input as Record<string, unknown>;
  if (typeof raw.name !== 'string' || !NAME_PATTERN.test(raw.name)) {
    fail(
      null,
      'name',
      raw.name,
      'must be 1-100 letters, digits, spaces or ._/+- and start with a letter or digit',
    );
  }
  if (
    raw.description !== undefined &&
    raw.description !== null &&
    (typeof raw.description !== 'string' || raw.description.length > 2000)
  ) {
    fail(null, 'description', raw.description, 'must be a string of at most 2000 characters');
  }
  const shape = raw.inputShape;
  if (!Array.isArray(shape) || shape.length !== 3) {
    fail(null, 'inputShape', shape, 'must be [height, width, channels]');
  } else {
    intField(null, 'inputShape[0]', shape[0], 1, MAX_SIDE);
    intField(null, 'inputShape[1]', shape[1], 1, MAX_SIDE);
    intField(null, 'inputShape[2]', shape[2], 1, MAX_CHANNELS);
  }
  intField(null, 'labels', raw.labels, 2, MAX_LABELS);
  if (!Array.isArray(raw.blocks)) {
    fail(null, 'blocks', raw.blocks, 'must be a list of blocks');
  } else if (raw.blocks.length > MAX_BLOCKS) {
    fail(null, 'blocks', `${raw.blocks.length} blocks`, `must have at most ${MAX_BLOCKS} blocks`);
  }
  if (issues.length > 0) throw new ArchitectureValidationError(issues);

  const blocks: Block[] = [];
  (raw.blocks as unknown[]).forEach((value, i) => {
    const block = checkBlock(value, i);
    if (block) blocks.push(block);
  });
  if (issues.length > 0) throw new ArchitectureValidationError(issues);

  checkShapes(blocks, shape as [number, number, number]);
  if (issues.length > 0) throw new ArchitectureValidationError(issues);

  const spec: ArchitectureSpec = {
    name: raw.name as string,
    ...(typeof raw.description === 'string' ? { description: raw.description } : {}),
    inputShape: shape as [number, number, number],
    labels: raw.labels as number,
    blocks,
  };
  checkParameterCount(spec);
  if (issues.length > 0) throw new ArchitectureValidationError(issues);
  return spec;

  function checkBlock(value: unknown, i: number): Block | null {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      fail(i, 'kind', value, 'each block must be an object with a kind');
      return null;
    }
    const b = value as Record<string, unknown>;
    const kind = b.kind;
    if (typeof kind !== 'string' || !(BLOCK_KINDS as readonly string[]).includes(kind)) {
      fail(i, 'kind', kind, `unknown block kind; expected one of ${BLOCK_KINDS.join(', ')}`);
      return null;
    }
    const allowed = FIELDS[kind as Block['kind']];
    const present = Object.entries(b).filter(([, v]) => v !== undefined && v !== null);
    for (const [field, v] of present) {
      if (!allowed.includes(field)) fail(i, field, v, `is not a field of a ${kind} block`);
    }
    const clean = Object.fromEntries(present) as Record<string, unknown>;
    switch (kind) {
      case 'conv':
        intField(i, 'filters', clean.filters, 1, MAX_WIDTH);
        if (clean.kernelSize !== undefined) intField(i, 'kernelSize', clean.kernelSize, 1, 64);
        if (clean.stride !== undefined) intField(i, 'stride', clean.stride, 1, 64);
        if (clean.padding !== undefined) checkPadding(i, clean.padding);
        for (const field of ['batchNorm', 'bias']) {
          if (clean[field] !== undefined && typeof clean[field] !== 'boolean') {
            fail(i, field, clean[field], 'must be a boolean');
          }
        }
        checkActivation(i, clean.activation);
        break;
      case 'maxPool':
      case 'avgPool':
        if (clean.poolSize !== undefined) intField(i, 'poolSize', clean.poolSize, 1, 64);
        if (clean.stride !== undefined) intField(i, 'stride', clean.stride, 1, 64);
        break;
      case 'dropout':
        if (
          typeof clean.rate !== 'number' ||
          !Number.isFinite(clean.rate) ||
          clean.rate < 0 ||
          clean.rate >= 1
        ) {
          fail(i, 'rate', clean.rate, 'must be a number in [0, 1)');
        }
        break;
      case 'dense':
        intField(i, 'units', clean.units, 1, MAX_WIDTH);
        checkActivation(i, clean.activation);
        break;
    }
    return clean as unknown as Block;
  }

  function checkPadding(i: number, value: unknown): void {
    if (value === 'same' || value === 'valid') return;
    const why = `must be 'same', 'valid' or zeros per side { top, bottom, left, right }`;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      fail(i, 'padding', value, why);
      return;
    }
    const sides = value as Record<string, unknown>;
    for (const key of Object.keys(sides)) {
      if (!(PAD_SIDES as readonly string[]).includes(key))
        fail(i, `padding.${key}`, sides[key], why);
    }
    for (const side of PAD_SIDES) intField(i, `padding.${side}`, sides[side], 0, MAX_PAD);
  }

  function checkActivation(i: number, value: unknown): void {
    if (value !== undefined && value !== 'relu' && value !== 'linear') {
      fail(i, 'activation', value, "must be 'relu' or 'linear'");
    }
  }

  function checkShapes(list: readonly Block[], input: readonly [number, number, number]): void {
    let [h, w, c]: number[] = [...input];
    let flat = false;
    for (const [i, block] of list.entries()) {
      const spatial =
        block.kind !== 'dense' && block.kind !== 'dropout' && block.kind !== 'flatten';
      if (spatial && flat) {
        fail(
          i,
          'kind',
          block.kind,
          'needs a spatial input but follows a flatten, dense or globalAvgPool block',
        );
        return;
      }
      if (block.kind === 'globalAvgPool') {
        [h, w] = [1, 1];
        flat = true;
      } else if (block.kind === 'conv' || block.kind === 'maxPool' || block.kind === 'avgPool') {
        const isConv = block.kind === 'conv';
        const window = isConv
          ? (block.kernelSize ?? CONV_DEFAULTS.kernelSize)
          : (block.poolSize ?? POOL_DEFAULT_SIZE);
        const stride = block.stride ?? (isConv ? CONV_DEFAULTS.stride : window);
        const padding = isConv ? (block.padding ?? CONV_DEFAULTS.padding) : 'valid';
        const field = isConv ? 'kernelSize' : 'poolSize';
        // A 'same' convolution pads its input, so a 3x3 kernel on a 2x2 map (VGG-16's last
        // stage at 32x32) is fine; a 'valid' one, or a pooling window, cannot exceed its input,
        // nor can an explicitly padded one exceed its padded input.
        const [ph, pw] =
          typeof padding === 'object'
            ? [
                (h as number) + padding.top + padding.bottom,
                (w as number) + padding.left + padding.right,
              ]
            : [h as number, w as number];
        if (padding !== 'same' && (window > ph || window > pw)) {
          const padded = typeof padding === 'object' ? ` (${ph}x${pw} padded)` : '';
          const why = isConv
            ? `kernel is larger than its ${h}x${w} input${padded}`
            : `spatial size collapses to zero: pool window is larger than its ${h}x${w} input`;
          fail(i, field, window, why);
          return;
        }
        const [oh, ow] = isConv
          ? convOutputSize(h as number, w as number, window, stride, padding)
          : [
              windowOutputSize(h as number, window, stride, 'valid'),
              windowOutputSize(w as number, window, stride, 'valid'),
            ];
        if (oh < 1 || ow < 1) {
          fail(i, 'stride', stride, `spatial size collapses to zero from a ${h}x${w} input`);
          return;
        }
        [h, w] = [oh, ow];
        if (isConv) c = block.filters;
      } else if (block.kind === 'dense') {
        if (!flat) {
          fail(
            i,
            'kind',
            block.kind,
            `needs a flat input but gets ${h}x${w}x${c}; add a flatten block before it`,
          );
          return;
        }
      } else if (block.kind === 'flatten') {
        if (flat) {
          fail(i, 'kind', block.kind, 'input is already flat');
          return;
        }
        flat = true;
      }
    }
  }

  function checkParameterCount(checked: ArchitectureSpec): void {
    const { layers, parameterCount } = summarize(checked);
    if (parameterCount <= limits.maxParameters) return;
    let running = 0;
    for (const layer of layers) {
      running += layer.parameterCount;
      if (running > limits.maxParameters) {
        const field = layer.kind === 'conv' ? 'filters' : 'units';
        const value = layer.kind === 'conv' || layer.kind === 'dense' ? layer.filters : null;
        const why = `the architecture has ${parameterCount} parameters, over the limit of ${limits.maxParameters} (crossed at layer ${layer.name})`;
        if (layer.blockIndex === null) fail(null, 'labels', checked.labels, why);
        else fail(layer.blockIndex, field, value, why);
        return;
      }
    }
  }
}
