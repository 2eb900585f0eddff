import { specMatches, toArchitectureInput } from '../../../src/cli/architecture.js';
import type { FilterRow } from '../../../src/cli/operations.js';
import { clusterText } from '../../../src/csv.js';
import { meanFilterSnr, secondsBetween, selectExtremes } from '../../../src/cli/report-data.js';

const filter = (index: number, snr: number | null, silent = false): FilterRow => ({
  id: `f${index}`,
  index,
  scale: 1,
  silent,
  preferredLabel: 0,
  preference: 1,
  clusters: [],
  signal: 1,
  noise: snr === null ? 0 : 1,
  snr,
  noiseFree: snr === null,
  ablation: 0,
  correlation: { rows: [] },
});

describe('report data', () => {
  it('ranks filters by SNR, leaving out silent and noise-free ones, ties by index', () => {
    const rows = [
      filter(0, 1),
      filter(1, 3),
      filter(2, null),
      filter(3, 5, true),
      filter(4, 3),
      filter(5, 0),
    ];
    const { best, worst } = selectExtremes(rows, 2);
    expect(best.map((f) => f.index)).toEqual([1, 4]);
    expect(worst.map((f) => f.index)).toEqual([5, 0]);
    expect(selectExtremes(rows, 10).best.map((f) => f.index)).toEqual([1, 4, 0, 5]);
    expect(selectExtremes([filter(0, null)], 3)).toEqual({ best: [], worst: [] });
    expect(meanFilterSnr(rows)).toBe(7 / 4);
    expect(meanFilterSnr([filter(0, null)])).toBeNull();
  });

  it('writes clusters as a+b | c and durations in seconds', () => {
    expect(clusterText([['Shirt', 'T-shirt/top'], ['Bag']])).toBe('Shirt+T-shirt/top | Bag');
    expect(clusterText([])).toBe('');
    expect(secondsBetween('2024-01-01T00:00:00Z', '2024-01-01T00:01:30.04Z')).toBe(90);
    expect(secondsBetween(null, '2024-01-01T00:00:00Z')).toBeNull();
  });
});

describe('architecture specs', () => {
  it('matches a given spec against the stored one, GraphQL enums against stored names', () => {
    const stored = {
      name: 'small',
      inputShape: [16, 16, 3],
      labels: 4,
      blocks: [{ kind: 'conv', filters: 8, kernelSize: 3 }, { kind: 'maxPool' }],
    };
    const given = {
      name: 'small',
      inputShape: [16, 16, 3],
      labels: 4,
      blocks: [
        { kind: 'CONV', filters: 8 },
        { kind: 'MAX_POOL', poolSize: 2 },
      ],
    };
    expect(specMatches(given, stored)).toBe(true);
    expect(specMatches({ ...given, labels: 10 }, stored)).toBe(false);
    expect(
      specMatches(
        { ...given, blocks: [{ kind: 'CONV', filters: 16 }, { kind: 'MAX_POOL' }] },
        stored,
      ),
    ).toBe(false);
    expect(specMatches({ ...given, blocks: [{ kind: 'CONV', filters: 8 }] }, stored)).toBe(false);
  });

  it('turns a stored-form spec into createArchitecture input', () => {
    expect(
      toArchitectureInput({
        name: 'x',
        blocks: [
          { kind: 'maxPool' },
          { kind: 'conv', filters: 4, padding: 'same', activation: 'relu' },
          { kind: 'AVG_POOL' },
        ],
      }),
    ).toEqual({
      name: 'x',
      blocks: [
        { kind: 'MAX_POOL' },
        { kind: 'CONV', filters: 4, padding: 'SAME', activation: 'RELU' },
        { kind: 'AVG_POOL' },
      ],
    });
  });
});
