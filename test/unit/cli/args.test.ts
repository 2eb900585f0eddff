import { UsageError, parseFlags } from '../../../src/cli/args.js';
import { planFromArgs, probeInputFor, trainingInputFor } from '../../../src/cli/plan.js';

const usage = (argv: string[], env: Record<string, string> = {}): string => {
  try {
    planFromArgs(argv, env);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`no UsageError for ${argv.join(' ')}`);
};

describe('reproduce arguments', () => {
  it('parses --flag value, --flag=value, booleans and --no-booleans', () => {
    expect(
      parseFlags(['--epochs', '4', '--lr=0.02', '--nesterov', '--no-after-pooling', '-h']),
    ).toEqual({ epochs: 4, lr: 0.02, nesterov: true, 'after-pooling': false, help: true });
    expect(parseFlags(['--layers', 'conv1, conv3', '--milestones=2,5'])).toEqual({
      layers: ['conv1', 'conv3'],
      milestones: [2, 5],
    });
  });

  it.each([
    [['--epochs', 'abc'], '--epochs: expected an integer from 1 to 10000, got "abc"'],
    [['--epochs', '0'], '--epochs: expected an integer from 1 to 10000, got "0"'],
    [['--epochs', '2.5'], '--epochs: expected an integer from 1 to 10000, got "2.5"'],
    [['--lr', '0'], '--lr: expected a number in (0, 10], got "0"'],
    [['--lr', '-1'], '--lr: expected a number in (0, 10], got "-1"'],
    [['--momentum=1'], '--momentum: expected a number in [0, 0.999999], got "1"'],
    [['--augmentation', 'flip'], '--augmentation: expected one of crop-flip, none, got "flip"'],
    [['--schedule', 'linear'], '--schedule: expected one of cosine, step, constant, got "linear"'],
    [
      ['--milestones', '2,x'],
      '--milestones: expected comma-separated integers from 1 to 10000, got "2,x"',
    ],
    [
      ['--layers', 'conv1,,conv2'],
      '--layers: expected a comma-separated list of names, got "conv1,,conv2"',
    ],
    [['--nesterov=maybe'], '--nesterov: expected true or false (or the flag alone), got "maybe"'],
    [['--bogus', '1'], 'unknown option --bogus (see --help)'],
    [['--no-epochs'], 'unknown option --no-epochs (see --help)'],
    [['--epochs'], '--epochs needs a value'],
    [['--out', '--epochs', '3'], '--out needs a value'],
    [['--epochs', '3', '--epochs', '4'], '--epochs is given twice (the second time as "4")'],
    [['train'], 'unexpected argument "train": every option is a --flag (see --help)'],
    [['--url', 'ftp://x'], '--url: expected an http:// or https:// URL, got "ftp://x"'],
    [['--url', 'not a url'], '--url: expected an http:// or https:// URL, got "not a url"'],
    [
      ['--image-size', '16'],
      '--image-size is an option of the procedural dataset, not of --dataset "fashion-mnist"',
    ],
    [
      ['--run', 'abc', '--epochs', '3'],
      '--epochs cannot be used with --run (phase 1 is skipped; --probe-train and --probe-test size the probe)',
    ],
    [
      ['--run', 'abc', '--arch', 'VGG-6/28x28x1'],
      '--arch cannot be used with --run (the run has its own)',
    ],
    [
      ['--probe', 'p', '--head-epochs', '3'],
      '--head-epochs cannot be used with --probe (it reports a probe that exists)',
    ],
    [['--milestones', '2'], '--milestones needs --schedule step, got --schedule "cosine"'],
  ])('refuses %j naming the flag and the value', (argv, message) => {
    expect(usage(argv)).toBe(message);
  });

  it('adds /graphql to a URL without a path and takes the API key from the environment', () => {
    const plan = planFromArgs(['--url', 'http://127.0.0.1:4000'], { FILTERSCOPE_API_KEY: 'k-123' });
    expect(plan.url).toBe('http://127.0.0.1:4000/graphql');
    expect(plan.apiKey).toBe('k-123');
    expect(planFromArgs(['--api-key', 'mine'], { FILTERSCOPE_API_KEY: 'env' }).apiKey).toBe('mine');
    expect(planFromArgs([], {}).url).toBeNull();
  });

  it('sizes fashion-mnist to the quick defaults and leaves the rest to the server', () => {
    const plan = planFromArgs([]);
    expect(plan.dataset).toBe('fashion-mnist');
    expect(trainingInputFor(plan)).toEqual({
      dataset: 'fashion-mnist',
      hyperparameters: { epochs: 3, maxTrainExamples: 6000, maxTestExamples: 2000 },
    });
    expect(
      probeInputFor(plan, { id: 'r', dataset: 'fashion-mnist', maxTrainExamples: 6000 }),
    ).toEqual({ runId: 'r', headEpochs: 5, maxTrainExamples: 6000, maxTestExamples: 2000 });
    const cifar = planFromArgs(['--dataset', 'cifar-10']);
    expect(trainingInputFor(cifar)).toEqual({ dataset: 'cifar-10', hyperparameters: {} });
    expect(probeInputFor(cifar, { id: 'r', dataset: 'cifar-10', maxTrainExamples: null })).toEqual({
      runId: 'r',
    });
  });

  it('maps procedural options, hyperparameters and probe options onto the API inputs', () => {
    const plan = planFromArgs(
      `--dataset procedural --image-size 16 --labels 4 --train 400 --test 128 --data-seed 7 --epochs 2
       --batch-size 32 --lr 0.01 --augmentation none --schedule step --milestones 1 --factor 0.5 --warmup 1
       --seed 3 --keep-checkpoints 1 --head-epochs 2 --layers conv2 --no-after-pooling --probe-test 64`
        .split(/\s+/)
        .filter(Boolean),
    );
    expect(trainingInputFor(plan)).toEqual({
      dataset: 'procedural',
      datasetOptions: { imageSize: 16, labels: 4, trainSize: 400, testSize: 128, seed: 7 },
      hyperparameters: {
        epochs: 2,
        batchSize: 32,
        learningRate: 0.01,
        seed: 3,
        augmentation: 'NONE',
        schedule: { kind: 'STEP', warmupEpochs: 1, milestones: [1], factor: 0.5 },
      },
      keepCheckpoints: 1,
    });
    expect(probeInputFor(plan, { id: 'r', dataset: 'procedural', maxTrainExamples: null })).toEqual(
      {
        runId: 'r',
        layers: ['conv2'],
        headEpochs: 2,
        afterPooling: false,
        maxTestExamples: 64,
      },
    );
  });
});
