import { ContractIssue } from '../../../src/contract/checks.js';
import { resolveHyperparameters } from '../../../src/contract/hyperparameters.js';

describe('resolveHyperparameters', () => {
  it("fills METHOD.md's defaults and picks augmentation by the dataset's channels", () => {
    expect(resolveHyperparameters({}, { inputShape: [32, 32, 3] })).toEqual({
      epochs: 30,
      batchSize: 128,
      learningRate: 0.05,
      momentum: 0.9,
      nesterov: false,
      weightDecay: 5e-4,
      schedule: { kind: 'cosine' },
      augmentation: 'cropFlip',
      seed: 1,
      maxTrainExamples: null,
      maxTestExamples: null,
    });
    expect(resolveHyperparameters({ seed: 3 }, { inputShape: [28, 28, 1] })).toMatchObject({
      seed: 3,
      augmentation: 'none',
    });
    expect(
      resolveHyperparameters({ augmentation: 'none' }, { inputShape: [32, 32, 3] }).augmentation,
    ).toBe('none');
  });
});

describe('resolveHyperparameters checks what a client sent, naming the field', () => {
  const ctx = { inputShape: [32, 32, 3] as const, trainSize: 100, testSize: 20 };
  it.each([
    [{ epochs: 0 }, 'epochs'],
    [{ batchSize: 8193 }, 'batchSize'],
    [{ learningRate: 0 }, 'learningRate'],
    [{ momentum: 1 }, 'momentum'],
    [{ maxTrainExamples: 101 }, 'maxTrainExamples'],
    [{ maxTestExamples: 21 }, 'maxTestExamples'],
    [{ schedule: { kind: 'step', milestones: [40] } }, 'schedule.milestones'],
    [{ momentum: 0, nesterov: true }, 'nesterov'],
  ])('%j is refused at %s', (input, path) => {
    expect(() => resolveHyperparameters(input, ctx)).toThrow(ContractIssue);
    try {
      resolveHyperparameters(input, ctx);
    } catch (error) {
      expect((error as ContractIssue).path).toBe(path);
    }
  });
  it('takes nulls as "the default", in the schedule too', () => {
    expect(
      resolveHyperparameters(
        { epochs: null, schedule: { kind: 'cosine', milestones: null, factor: null } },
        ctx,
      ),
    ).toMatchObject({ epochs: 30, schedule: { kind: 'cosine' } });
  });
});
