import type { ArchitectureSpec, Block } from './spec.js';

/**
 * The presets of docs/METHOD.md ("Architectures"): 3x3 same convolutions with batch norm and ReLU,
 * 2x2/2 max-pooling. VGG-16 and AVGG-16 exist for 32x32 inputs only; VGG-6 also for 28x28x1.
 */

const conv = (filters: number): Block => ({ kind: 'conv', filters });
const P: Block = { kind: 'maxPool' };

/** The 13-conv stack of VGG-16 with its five poolings. */
const VGG16_STACK: Block[] = [
  conv(64),
  conv(64),
  P,
  conv(128),
  conv(128),
  P,
  conv(256),
  conv(256),
  conv(256),
  P,
  conv(512),
  conv(512),
  conv(512),
  P,
  conv(512),
  conv(512),
  conv(512),
  P,
];

export interface PresetOptions {
  /** VGG-16's dropout before each hidden dense layer. Default 0.5. */
  readonly dropout?: number;
  /** AVGG-16's order of the two final poolings. Default 'maxThenAvg'. */
  readonly poolOrder?: 'maxThenAvg' | 'avgThenMax';
}

export function vgg16(
  name: string,
  inputShape: [number, number, number],
  labels: number,
  options: PresetOptions = {},
): ArchitectureSpec {
  const rate = options.dropout ?? 0.5;
  return {
    name,
    description:
      'VGG-16: 13 conv + 3 dense layers, dropout before each hidden dense (docs/METHOD.md)',
    inputShape,
    labels,
    blocks: [
      ...VGG16_STACK,
      { kind: 'flatten' },
      { kind: 'dropout', rate },
      { kind: 'dense', units: 512 },
      { kind: 'dropout', rate },
      { kind: 'dense', units: 512 },
    ],
  };
}

export function vgg6(
  name: string,
  inputShape: [number, number, number],
  labels: number,
): ArchitectureSpec {
  return {
    name,
    description: 'VGG-6: 5 conv + 1 dense layer (docs/METHOD.md)',
    inputShape,
    labels,
    blocks: [conv(64), conv(64), P, conv(128), conv(128), P, conv(256), P],
  };
}

export function avgg16(
  name: string,
  inputShape: [number, number, number],
  labels: number,
  options: PresetOptions = {},
): ArchitectureSpec {
  const pools: Block[] =
    options.poolOrder === 'avgThenMax'
      ? [{ kind: 'avgPool' }, { kind: 'maxPool' }]
      : [{ kind: 'maxPool' }, { kind: 'avgPool' }];
  const convs = VGG16_STACK.filter((b) => b.kind === 'conv');
  // The first three poolings stay after convs 2, 4 and 7; the last two move after conv 13.
  const blocks: Block[] = [];
  convs.forEach((block, i) => {
    blocks.push(block);
    if (i === 1 || i === 3 || i === 6) blocks.push(P);
  });
  return {
    name,
    description:
      'AVGG-16: the VGG-16 conv stack, last two poolings moved next to the output (docs/METHOD.md)',
    inputShape,
    labels,
    blocks: [...blocks, ...pools],
  };
}

/** Every preset stored at first start, under a unique name. */
export const PRESETS: readonly ArchitectureSpec[] = [
  vgg16('VGG-16/CIFAR-10', [32, 32, 3], 10),
  vgg16('VGG-16/CIFAR-100', [32, 32, 3], 100),
  vgg6('VGG-6/CIFAR-10', [32, 32, 3], 10),
  vgg6('VGG-6/CIFAR-100', [32, 32, 3], 100),
  vgg6('VGG-6/28x28x1', [28, 28, 1], 10),
  avgg16('AVGG-16/CIFAR-10', [32, 32, 3], 10),
  avgg16('AVGG-16/CIFAR-100', [32, 32, 3], 100),
];
