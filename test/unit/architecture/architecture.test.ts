import {
  ArchitectureValidationError,
  PRESETS,
  avgg16,
  summarize,
  validateArchitecture,
  vgg16,
  vgg6,
  type ArchitectureSpec,
} from '../../../src/architecture/index.js';

const convParams = (k: number, cin: number, f: number) => k * k * cin * f + 4 * f;

describe('presets (METHOD.md, "Architectures")', () => {
  it('VGG-16 at 32x32x3 has 13 convs, 5 pools, 3 dense layers and the counted parameters', () => {
    const s = summarize(vgg16('v', [32, 32, 3], 10));
    expect(s.layers.filter((l) => l.kind === 'conv')).toHaveLength(13);
    expect(s.layers.filter((l) => l.kind === 'maxPool')).toHaveLength(5);
    expect(s.layers.filter((l) => l.kind === 'dense').map((l) => l.filters)).toEqual([
      512, 512, 10,
    ]);
    expect(s.layers.filter((l) => l.kind === 'dropout')).toHaveLength(2);
    const widths = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512];
    let cin = 3;
    let conv = 0;
    for (const f of widths) {
      conv += convParams(3, cin, f);
      cin = f;
    }
    const dense = 512 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10;
    expect(s.parameterCount).toBe(conv + dense);
    expect(s.layers.at(-1)).toMatchObject({ name: 'classifier', outputShape: [10] });
  });

  it('VGG-6 at 28x28x1 floors odd pooling sizes (7 -> 3)', () => {
    const s = summarize(vgg6('v', [28, 28, 1], 10));
    expect(s.layers.map((l) => l.outputShape)).toEqual([
      [28, 28, 64],
      [28, 28, 64],
      [14, 14, 64],
      [14, 14, 128],
      [14, 14, 128],
      [7, 7, 128],
      [7, 7, 256],
      [3, 3, 256],
      [2304],
      [10],
    ]);
    expect(s.convLayerIndices).toEqual([0, 1, 3, 4, 6]);
  });

  it('AVGG-16 keeps three poolings in the stack and ends with max- then average-pooling', () => {
    const spec = avgg16('a', [32, 32, 3], 100);
    const s = summarize(spec);
    const kinds = s.layers.map((l) => l.kind);
    expect(kinds.filter((k) => k === 'conv')).toHaveLength(13);
    expect(kinds.slice(-4)).toEqual(['maxPool', 'avgPool', 'flatten', 'dense']);
    expect(s.layers.at(-3)?.outputShape).toEqual([1, 1, 512]);
    const swapped = summarize(avgg16('b', [32, 32, 3], 10, { poolOrder: 'avgThenMax' }));
    expect(swapped.layers.map((l) => l.kind).slice(-4, -2)).toEqual(['avgPool', 'maxPool']);
  });

  it('counts forward FLOPs as 2 per multiply-add of convs and dense layers', () => {
    const spec: ArchitectureSpec = {
      name: 'tiny',
      inputShape: [4, 4, 2],
      labels: 3,
      blocks: [{ kind: 'conv', filters: 5 }],
    };
    const s = summarize(spec);
    expect(s.layers[0]?.flops).toBe(2 * 3 * 3 * 2 * 5 * 4 * 4);
    expect(s.layers.at(-1)?.flops).toBe(2 * 80 * 3);
    expect(s.flops).toBe(2 * 3 * 3 * 2 * 5 * 16 + 2 * 80 * 3);
  });

  it('every preset validates', () => {
    for (const spec of PRESETS) expect(() => validateArchitecture(spec)).not.toThrow();
    expect(new Set(PRESETS.map((p) => p.name)).size).toBe(PRESETS.length);
  });
});

describe('validateArchitecture', () => {
  const base = { name: 'net', inputShape: [16, 16, 3], labels: 4 };
  const issueOf = (spec: unknown, limit = 200_000_000) => {
    try {
      validateArchitecture(spec, { maxParameters: limit });
    } catch (error) {
      expect(error).toBeInstanceOf(ArchitectureValidationError);
      return (error as ArchitectureValidationError).issues[0];
    }
    throw new Error('expected a validation error');
  };

  it.each([
    ['unknown kind', [{ kind: 'lstm' }], 'blocks[0].kind', 'lstm'],
    ['negative filters', [{ kind: 'conv', filters: -8 }], 'blocks[0].filters', -8],
    ['zero filters', [{ kind: 'conv', filters: 0 }], 'blocks[0].filters', 0],
    [
      'fractional units',
      [{ kind: 'flatten' }, { kind: 'dense', units: 1.5 }],
      'blocks[1].units',
      1.5,
    ],
    [
      'valid kernel larger than input',
      [{ kind: 'conv', filters: 4, kernelSize: 17, padding: 'valid' }],
      'blocks[0].kernelSize',
      17,
    ],
    [
      'collapsing pools',
      [
        { kind: 'maxPool' },
        { kind: 'maxPool' },
        { kind: 'maxPool' },
        { kind: 'maxPool' },
        { kind: 'maxPool' },
      ],
      'blocks[4].poolSize',
      2,
    ],
    ['dropout rate 1', [{ kind: 'dropout', rate: 1 }], 'blocks[0].rate', 1],
    ['NaN rate', [{ kind: 'dropout', rate: NaN }], 'blocks[0].rate', NaN],
    ['dense on spatial input', [{ kind: 'dense', units: 8 }], 'blocks[0].kind', 'dense'],
    [
      'conv after flatten',
      [{ kind: 'flatten' }, { kind: 'conv', filters: 2 }],
      'blocks[1].kind',
      'conv',
    ],
    ['unknown field', [{ kind: 'conv', filters: 2, units: 3 }], 'blocks[0].units', 3],
    ['bad padding', [{ kind: 'conv', filters: 2, padding: 'full' }], 'blocks[0].padding', 'full'],
    [
      'a negative explicit pad',
      [{ kind: 'conv', filters: 2, padding: { top: 1, bottom: -1, left: 1, right: 1 } }],
      'blocks[0].padding.bottom',
      -1,
    ],
    [
      'a missing explicit pad',
      [{ kind: 'conv', filters: 2, padding: { top: 1, bottom: 1, left: 1 } }],
      'blocks[0].padding.right',
      undefined,
    ],
    [
      'an unknown side',
      [{ kind: 'conv', filters: 2, padding: { top: 1, bottom: 1, left: 1, right: 1, front: 1 } }],
      'blocks[0].padding.front',
      1,
    ],
    [
      'a kernel larger than its padded input',
      [
        {
          kind: 'conv',
          filters: 2,
          kernelSize: 19,
          padding: { top: 1, bottom: 1, left: 1, right: 1 },
        },
      ],
      'blocks[0].kernelSize',
      19,
    ],
    [
      'a bias that is not a boolean',
      [{ kind: 'conv', filters: 2, bias: 'yes' }],
      'blocks[0].bias',
      'yes',
    ],
    [
      'a conv after a global pooling',
      [{ kind: 'globalAvgPool' }, { kind: 'conv', filters: 2 }],
      'blocks[1].kind',
      'conv',
    ],
    [
      'a flatten after a global pooling',
      [{ kind: 'globalAvgPool' }, { kind: 'flatten' }],
      'blocks[1].kind',
      'flatten',
    ],
    [
      'a field of a global pooling',
      [{ kind: 'globalAvgPool', poolSize: 2 }],
      'blocks[0].poolSize',
      2,
    ],
  ])('refuses %s, naming the block, field and value', (_name, blocks, path, value) => {
    const issue = issueOf({ ...base, blocks });
    expect(issue?.path).toBe(path);
    expect(issue?.value).toEqual(value);
    expect(issue?.message).toContain(path);
  });

  it.each([
    ['name', { ...base, name: '', blocks: [] }],
    ['labels', { ...base, labels: 1, blocks: [] }],
    ['inputShape[2]', { ...base, inputShape: [16, 16, 0], blocks: [] }],
    ['inputShape', { ...base, inputShape: [16, 16], blocks: [] }],
    ['blocks', { ...base, blocks: 'conv' }],
  ])('refuses a bad top-level %s', (path, spec) => {
    expect(issueOf(spec)?.path).toBe(path);
  });

  it('refuses a parameter count over the limit, naming where it is crossed', () => {
    const issue = issueOf(
      {
        ...base,
        blocks: [
          { kind: 'conv', filters: 64 },
          { kind: 'conv', filters: 512 },
        ],
      },
      100_000,
    );
    expect(issue?.path).toBe('blocks[1].filters');
    expect(issue?.message).toMatch(/over the limit of 100000/);
  });

  it('accepts a 3x3 same convolution on a 2x2 map, as VGG-16 has', () => {
    expect(() =>
      validateArchitecture({
        ...base,
        inputShape: [2, 2, 8],
        blocks: [{ kind: 'conv', filters: 4 }],
      }),
    ).not.toThrow();
  });
});

describe('imported layers: explicit padding, conv bias with batch norm, global average pooling', () => {
  const spec = (blocks: ArchitectureSpec['blocks']): ArchitectureSpec => ({
    name: 'imported',
    inputShape: [12, 16, 3],
    labels: 5,
    blocks,
  });

  it('counts a conv bias next to batch norm: kernel + F + 4F', () => {
    const [withBias] = summarize(spec([{ kind: 'conv', filters: 8, bias: true }])).layers;
    expect(withBias?.parameterCount).toBe(3 * 3 * 3 * 8 + 8 + 4 * 8);
    const [neither] = summarize(
      spec([{ kind: 'conv', filters: 8, batchNorm: false, bias: false }]),
    ).layers;
    expect(neither?.parameterCount).toBe(3 * 3 * 3 * 8);
  });

  it("sizes explicitly padded convs as PyTorch does, unlike 'same' at stride 2", () => {
    const pads = { top: 1, bottom: 1, left: 1, right: 1 };
    const s = summarize(
      spec([
        { kind: 'conv', filters: 4, stride: 2, padding: pads },
        {
          kind: 'conv',
          filters: 4,
          kernelSize: 2,
          padding: { top: 0, bottom: 1, left: 1, right: 0 },
        },
      ]),
    );
    // floor((12 + 2 - 3) / 2) + 1 = 6, floor((16 + 2 - 3) / 2) + 1 = 8
    expect(s.layers.map((l) => l.outputShape).slice(0, 2)).toEqual([
      [6, 8, 4],
      [6, 8, 4],
    ]);
    expect(s.layers[1]?.flops).toBe(2 * (2 * 2 * 4 * 4) * 6 * 8);
    expect(() =>
      validateArchitecture(spec([{ kind: 'conv', filters: 4, padding: pads }])),
    ).not.toThrow();
  });

  it('a global average pooling gives a flat [C] to the classifier, no flatten, no parameters', () => {
    const s = summarize(spec([{ kind: 'conv', filters: 6 }, { kind: 'globalAvgPool' }]));
    expect(
      s.layers.map((l) => [l.name, l.kind, l.outputShape, l.parameterCount, l.kernelSize]),
    ).toEqual([
      ['conv1', 'conv', [12, 16, 6], 3 * 3 * 3 * 6 + 4 * 6, 3],
      ['globalAvgPool1', 'globalAvgPool', [6], 0, null],
      ['classifier', 'dense', [5], 6 * 5 + 5, null],
    ]);
    expect(() =>
      validateArchitecture(
        spec([
          { kind: 'conv', filters: 6 },
          { kind: 'globalAvgPool' },
          { kind: 'dropout', rate: 0.5 },
          { kind: 'dense', units: 7, activation: 'linear' },
        ]),
      ),
    ).not.toThrow();
  });
});
