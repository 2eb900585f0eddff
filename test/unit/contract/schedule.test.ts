import { learningRateAt, scheduleIssues } from '../../../src/contract/schedule.js';

const rates = (schedule: Parameters<typeof learningRateAt>[0], lr: number, epochs: number) =>
  Array.from({ length: epochs }, (_, e) => learningRateAt(schedule, lr, e, epochs));

describe('learningRateAt', () => {
  it('cosine follows METHOD.md: lr * (1 + cos(pi * e / E)) / 2 for e = 0 .. E-1', () => {
    const got = rates({ kind: 'cosine' }, 0.05, 4);
    const want = [0.05, (0.05 * (1 + Math.SQRT1_2)) / 2, 0.025, (0.05 * (1 - Math.SQRT1_2)) / 2];
    got.forEach((r, i) => expect(r).toBeCloseTo(want[i] ?? NaN, 12));
  });

  it('cosine with warm-up ramps linearly, then decays over the remaining epochs', () => {
    const got = rates({ kind: 'cosine', warmupEpochs: 2 }, 0.3, 6);
    const want = [
      0.1,
      0.2,
      0.3,
      (0.3 * (1 + Math.SQRT1_2)) / 2,
      0.15,
      (0.3 * (1 - Math.SQRT1_2)) / 2,
    ];
    got.forEach((r, i) => expect(r).toBeCloseTo(want[i] ?? NaN, 12));
  });

  it('step multiplies by the factor at each milestone (default 0.1)', () => {
    expect(rates({ kind: 'step', milestones: [2, 4] }, 1, 6)).toEqual([
      1,
      1,
      0.1,
      0.1,
      0.1 * 0.1,
      0.1 * 0.1,
    ]);
    expect(rates({ kind: 'step', milestones: [1], factor: 0.5, warmupEpochs: 1 }, 1, 3)).toEqual([
      0.5, 0.5, 0.5,
    ]);
  });

  it('constant stays at the base rate after its warm-up', () => {
    expect(rates({ kind: 'constant' }, 0.05, 3)).toEqual([0.05, 0.05, 0.05]);
    expect(rates({ kind: 'constant', warmupEpochs: 3 }, 0.4, 5)).toEqual([
      0.1,
      0.2,
      expect.closeTo(0.3, 12),
      0.4,
      0.4,
    ]);
  });

  it('refuses epochs outside [0, E)', () => {
    expect(() => learningRateAt({ kind: 'cosine' }, 0.1, 3, 3)).toThrow(
      'epoch must be an integer in [0, 3), got 3',
    );
  });
});

describe('scheduleIssues', () => {
  it('accepts valid schedules', () => {
    expect(scheduleIssues({ kind: 'cosine', warmupEpochs: 2 }, 10)).toEqual([]);
    expect(scheduleIssues({ kind: 'step', milestones: [3, 6], factor: 0.2 }, 10)).toEqual([]);
  });

  it('names the field, the value and the reason', () => {
    expect(scheduleIssues({ kind: 'linear' }, 10)).toEqual([
      { field: 'kind', value: 'linear', why: 'must be one of cosine, step, constant' },
    ]);
    expect(
      scheduleIssues(
        { kind: 'step', milestones: [5, 3], factor: 2, warmupEpochs: 10, gamma: 1 },
        10,
      ),
    ).toEqual([
      { field: 'gamma', value: 1, why: 'is not a field of a step schedule' },
      {
        field: 'warmupEpochs',
        value: 10,
        why: 'must be an integer from 0 to 9 (below the 10 epochs)',
      },
      {
        field: 'milestones',
        value: [5, 3],
        why: 'must be strictly increasing integers from 1 to 9',
      },
      { field: 'factor', value: 2, why: 'must be a number in (0, 1]' },
    ]);
  });
});
