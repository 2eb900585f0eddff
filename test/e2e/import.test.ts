import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { importCommand } from '../../src/cli/import.js';
import { launchBrowser } from '../helpers/browser.js';
import { reproduceCommand } from '../../src/cli/reproduce.js';
import { collect, startTestServer, type TestServer } from '../helpers/server.js';

/**
 * Networks trained elsewhere, through the real upload route, GraphQL over HTTP and WebSocket and
 * a real database: a PyTorch ONNX file imported, evaluated (streamed), probed and its filters
 * queried; exported in both formats (the ONNX passing onnx's checker) and imported back with
 * the same test SR; and every kind of bad file refused with a code, the field, and nothing
 * stored.
 */
jest.setTimeout(300_000);
const exec = promisify(execFile);
const FIXTURES = join(__dirname, '..', 'fixtures', 'interop');
const FASHION = '/usr/share/datasets/fashion-mnist';
const fixture = (path: string) => new Uint8Array(readFileSync(join(FIXTURES, path)));

let t: TestServer;
let uploadUrl: string;
let exportBase: string;
beforeAll(async () => {
  t = await startTestServer('pglite', {
    FILTERSCOPE_RUNNERS: '1',
    // Small enough that the over-the-limit case is cheap; every fixture is under 120 kB.
    FILTERSCOPE_MAX_UPLOAD_BYTES: '200000',
  });
  uploadUrl = t.server.url.replace(/\/graphql$/, '/import');
  exportBase = t.server.url.replace(/\/graphql$/, '/export');
});
afterAll(async () => {
  await t?.stop();
});

interface UploadAnswer {
  status: number;
  data?: { run: { id: string; status: string; origin: string }; architecture: { name: string } };
  errors?: { message: string; extensions: Record<string, unknown> }[];
}

/** POSTs a multipart upload: the `input` JSON first, then the model, then weight files. */
async function upload(
  input: Record<string, unknown>,
  model: { name: string; bytes: Uint8Array } | null,
  weights: { name: string; bytes: Uint8Array }[] = [],
): Promise<UploadAnswer> {
  const form = new FormData();
  form.append('input', JSON.stringify(input));
  if (model) form.append('model', new Blob([model.bytes]), model.name);
  for (const w of weights) form.append('weights', new Blob([w.bytes]), w.name);
  const res = await fetch(uploadUrl, { method: 'POST', body: form });
  return { status: res.status, ...((await res.json()) as object) };
}

async function download(path: string): Promise<Uint8Array> {
  const res = await fetch(`${exportBase}/${path}`);
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return new Uint8Array(await res.arrayBuffer());
}

type Event = { sequence: number; type: string; status: string | null };

/** Follows a run's stream to its end; returns the events. */
async function followRun(runId: string): Promise<Event[]> {
  const { items, errors } = await collect<Event>(
    t.ws(),
    `subscription($id: ID!) { trainingProgress(runId: $id, afterSequence: 0) { sequence type status } }`,
    { id: runId },
  );
  expect(errors).toEqual([]);
  return items;
}

const RUN_FIELDS = `id status origin epoch epochs hyperparameters { learningRate } testExamples finalTestSR
  bestTestSR warnings imported { fileName format sizeBytes sha256 normalizationFrom notes labelMapping }
  architecture { name spec layers { name kind } }`;

interface RunView {
  id: string;
  status: string;
  origin: string;
  epoch: number;
  epochs: number | null;
  hyperparameters: null;
  testExamples: number;
  finalTestSR: number;
  warnings: string[];
  imported: {
    fileName: string;
    format: string;
    sizeBytes: number;
    sha256: string;
    normalizationFrom: string;
    notes: string[];
  };
  architecture: { name: string; layers: { name: string; kind: string }[] };
}

async function run(id: string): Promise<RunView> {
  const res = await t.gql<{ run: RunView }>(`query($id: ID!) { run(id: $id) { ${RUN_FIELDS} } }`, {
    id,
  });
  expect(res.errors).toBeUndefined();
  return res.data!.run;
}

/** Imports, follows the evaluation to its end, and returns the run. */
async function importAndEvaluate(
  input: Record<string, unknown>,
  model: { name: string; bytes: Uint8Array },
  weights: { name: string; bytes: Uint8Array }[] = [],
): Promise<RunView> {
  const answer = await upload(input, model, weights);
  expect(answer.errors).toBeUndefined();
  expect(answer.status).toBe(200);
  expect(answer.data!.run).toMatchObject({ status: 'QUEUED', origin: 'IMPORTED' });
  const events = await followRun(answer.data!.run.id);
  expect(events.map((e) => e.status).filter(Boolean)).toEqual(['QUEUED', 'RUNNING', 'SUCCEEDED']);
  expect(events.some((e) => e.type === 'EVALUATION')).toBe(true);
  return run(answer.data!.run.id);
}

const countStored = async () => {
  const res = await t.gql<{
    architectures: { totalCount: number };
    runs: { totalCount: number };
  }>(`{ architectures { totalCount } runs { totalCount } }`);
  return res.data!;
};

const describeFashion = existsSync(join(FASHION, 't10k-images-idx3-ubyte.gz'))
  ? describe
  : describe.skip;
if (!existsSync(join(FASHION, 't10k-images-idx3-ubyte.gz')))
  console.warn(
    `${FASHION} is missing (apt-get install dataset-fashion-mnist): PyTorch import skipped`,
  );

describeFashion('a network trained in PyTorch (ONNX, batch norm kept)', () => {
  const file = fixture('onnx/fashion28-bn.onnx');
  let imported: RunView;

  it('is imported, evaluated as a streamed job, and says what it is', async () => {
    imported = await importAndEvaluate(
      { name: 'torch-fashion', dataset: 'fashion-mnist', maxTestExamples: 1000 },
      { name: 'fashion28-bn.onnx', bytes: file },
    );
    expect(imported).toMatchObject({
      status: 'SUCCEEDED',
      origin: 'IMPORTED',
      epoch: 0,
      epochs: null,
      hyperparameters: null,
      testExamples: 1000,
      imported: {
        fileName: 'fashion28-bn.onnx',
        format: 'ONNX',
        sizeBytes: file.byteLength,
        sha256: createHash('sha256').update(file).digest('hex'),
        normalizationFrom: 'DATASET',
      },
    });
    expect(imported.imported.notes.join('\n')).toMatch(/LogSoftmax .* dropped/);
    expect(imported.architecture.name).toBe('torch-fashion');
    expect(imported.architecture.layers.map((l) => l.name)).toContain('conv2');
    // Trained a few steps in PyTorch: well above chance (0.1) on Fashion-MNIST.
    expect(imported.finalTestSR).toBeGreaterThan(0.5);
  });

  it('reads input settings that leave out the pixel scale and channel order as unit and rgb', async () => {
    const answer = await upload(
      {
        name: 'torch-fashion-given-stats',
        dataset: 'fashion-mnist',
        maxTestExamples: 200,
        input: { mean: [0.286], std: [0.353] },
      },
      { name: 'fashion28-bn.onnx', bytes: file },
    );
    expect(answer.errors).toBeUndefined();
    const id = answer.data!.run.id;
    await followRun(id);
    const res = await t.gql<{
      run: { status: string; imported: { normalizationFrom: string; input: unknown } };
    }>(
      `query($id: ID!) { run(id: $id) { status imported { normalizationFrom input { pixelScale mean std channelOrder } } } }`,
      { id },
    );
    expect(res.data!.run).toEqual({
      status: 'SUCCEEDED',
      imported: {
        normalizationFrom: 'SETTINGS',
        input: { pixelScale: 'UNIT', mean: [0.286], std: [0.353], channelOrder: 'RGB' },
      },
    });
  });

  it('is probed like a trained run, and its filters are queried', async () => {
    const started = await t.gql<{ startProbe: { id: string } }>(
      `mutation($id: ID!) { startProbe(input: { runId: $id, maxTrainExamples: 600, maxTestExamples: 300, headEpochs: 2, replicates: 2 }) { id } }`,
      { id: imported.id },
    );
    expect(started.errors).toBeUndefined();
    const probeId = started.data!.startProbe.id;
    const { errors } = await collect(
      t.ws(),
      `subscription($id: ID!) { probeProgress(probeId: $id, afterSequence: 0) { sequence type } }`,
      { id: probeId },
    );
    expect(errors).toEqual([]);
    const res = await t.gql<{
      probe: {
        status: string;
        layers: {
          layer: { name: string };
          successRate: number;
          replicates: { successRate: { mean: number; std: number } } | null;
          filters: { edges: { node: { index: number; snr: number | null } }[] };
        }[];
      };
    }>(
      `query($id: ID!) { probe(id: $id) { status layers { layer { name } successRate
        replicates { successRate { mean std } } filters(first: 3) { edges { node { index snr } } } } } }`,
      { id: probeId },
    );
    expect(res.errors).toBeUndefined();
    const probe = res.data!.probe;
    expect(probe.status).toBe('SUCCEEDED');
    expect(probe.layers.map((l) => l.layer.name)).toEqual(['conv1', 'conv2']);
    for (const layer of probe.layers) {
      expect(layer.successRate).toBeGreaterThan(0.3);
      expect(layer.replicates!.successRate.mean).toBeCloseTo(layer.successRate, 6);
      expect(layer.filters.edges).toHaveLength(3);
    }
  });

  it('warns, naming the likely causes, when the labels are read in the wrong order', async () => {
    const rotated = await importAndEvaluate(
      {
        name: 'torch-fashion-rotated',
        dataset: 'fashion-mnist',
        maxTestExamples: 1000,
        labelMapping: [1, 2, 3, 4, 5, 6, 7, 8, 9, 0],
      },
      { name: 'fashion28-bn.onnx', bytes: file },
    );
    expect(rotated.finalTestSR).toBeLessThan(0.15);
    expect(rotated.warnings.join('\n')).toMatch(/near chance.*channel order.*label order/);
  });

  it('is shown by the dashboard: its file, its notes, its test SR and its downloads', async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      await page.goto(`${t.server.url.replace(/\/graphql$/, '')}/#/runs/${imported.id}`);
      const card = page.getByTestId('imported');
      await card.waitFor();
      const text = (await card.textContent()) ?? '';
      expect(text).toContain('fashion28-bn.onnx');
      expect(text).toMatch(/LogSoftmax .* dropped/);
      await page.getByTestId('download-onnx').waitFor();
      await page.getByTestId('download-tfjs').waitFor();
      expect(await page.locator('body').innerText()).toMatch(
        /Imported; test SR \d+\.\d% measured on arrival/,
      );
      await browser.screenshot(page, 'dashboard-run-imported');
    } finally {
      await browser.close();
    }
  });

  it('is exported as ONNX that onnx checks and imported back with the same test SR', async () => {
    const onnx = await download(`runs/${imported.id}/model.onnx`);
    const dir = mkdtempSync(join(tmpdir(), 'filterscope-export-'));
    try {
      writeFileSync(join(dir, 'model.onnx'), onnx);
      await exec('/usr/bin/python3', [
        '-c',
        'import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)',
        join(dir, 'model.onnx'),
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const again = await importAndEvaluate(
      { name: 'torch-fashion-onnx', dataset: 'fashion-mnist', maxTestExamples: 1000 },
      { name: 'model.onnx', bytes: onnx },
    );
    // Our export records the standardisation it was evaluated with.
    expect(again.imported.normalizationFrom).toBe('FILE');
    expect(again.finalTestSR).toBe(imported.finalTestSR);
  });

  it('is exported in the TensorFlow.js layers format and imported back with the same test SR', async () => {
    const modelJson = await download(`runs/${imported.id}/tfjs/model.json`);
    const weights = await download(`runs/${imported.id}/tfjs/weights.bin`);
    expect(JSON.parse(new TextDecoder().decode(modelJson)).weightsManifest[0].paths).toEqual([
      'weights.bin',
    ]);
    const again = await importAndEvaluate(
      { name: 'torch-fashion-tfjs', dataset: 'fashion-mnist', maxTestExamples: 1000 },
      { name: 'model.json', bytes: modelJson },
      [{ name: 'weights.bin', bytes: weights }],
    );
    expect(again.imported.format).toBe('TFJS');
    expect(again.finalTestSR).toBe(imported.finalTestSR);
  });
});

describe('a run trained here', () => {
  it('is exported and imported back with the same test SR; an unfinished run is not exported', async () => {
    const arch = await t.gql<{ architecture: { id: string } }>(
      `{ architecture(name: "small") { id } }`,
    );
    const small = arch.data!.architecture
      ? arch.data!.architecture.id
      : (
          await t.gql<{ createArchitecture: { id: string } }>(
            `mutation { createArchitecture(input: { name: "small", inputShape: [16, 16, 3], labels: 4,
              blocks: [{ kind: CONV, filters: 8 }, { kind: MAX_POOL }, { kind: CONV, filters: 16 }, { kind: MAX_POOL }] }) { id } }`,
          )
        ).data!.createArchitecture.id;
    const options = { imageSize: 16, labels: 4, trainSize: 256, testSize: 128 };
    const started = await t.gql<{ startTraining: { id: string } }>(
      `mutation($arch: ID!, $options: DatasetOptionsInput) { startTraining(input: { architectureId: $arch, dataset: "procedural",
        datasetOptions: $options, hyperparameters: { epochs: 1, batchSize: 32 } }) { id } }`,
      { arch: small, options },
    );
    expect(started.errors).toBeUndefined();
    const runId = started.data!.startTraining.id;
    const early = await fetch(`${exportBase}/runs/${runId}/model.onnx`);
    expect(early.status).toBe(409);
    expect(await early.text()).toMatch(/only a SUCCEEDED run can be exported/);
    await followRun(runId);
    const trained = await run(runId);
    expect(trained.status).toBe('SUCCEEDED');

    const onnx = await download(`runs/${runId}/model.onnx`);
    const again = await importAndEvaluate(
      { name: 'small-again', dataset: 'procedural', datasetOptions: options },
      { name: 'small.onnx', bytes: onnx },
    );
    expect(again.finalTestSR).toBe(trained.finalTestSR);
    expect(again.testExamples).toBe(128);
  });
});

describe('bad uploads: a code, the field, and nothing stored', () => {
  // The procedural dataset in the fixture's shape (28x28x1, 10 labels): no files needed.
  const procedural = { imageSize: 28, channels: 1, labels: 10, trainSize: 64, testSize: 64 };
  const fashionInput = { name: 'refused', dataset: 'procedural', datasetOptions: procedural };
  const onnx = (name: string) => ({ name, bytes: fixture(`onnx/${name}`) });
  const tfjsModel = {
    name: 'model.json',
    bytes: fixture('tfjs/sequential12x16/model.json'),
  };
  const tfjsWeights = fixture('tfjs/sequential12x16/weights.bin');
  const cases: [
    string,
    () => Promise<UploadAnswer>,
    { status: number; code: string; reason?: string; field?: string; message: RegExp },
  ][] = [
    [
      'not a model file',
      () =>
        upload(fashionInput, { name: 'notes.onnx', bytes: new TextEncoder().encode('hello\n') }),
      { status: 400, code: 'BAD_USER_INPUT', reason: 'NOT_A_MODEL', field: 'model', message: /./ },
    ],
    [
      'a truncated file',
      () => {
        const whole = fixture('onnx/fashion28-bn.onnx');
        return upload(fashionInput, { name: 'cut.onnx', bytes: whole.subarray(0, 50_000) });
      },
      { status: 400, code: 'BAD_USER_INPUT', reason: 'TRUNCATED', field: 'model', message: /./ },
    ],
    [
      'zero bytes',
      () => upload(fashionInput, { name: 'empty.onnx', bytes: new Uint8Array(0) }),
      { status: 400, code: 'BAD_USER_INPUT', reason: 'EMPTY', field: 'model', message: /empty/ },
    ],
    [
      'over the upload limit',
      () => upload(fashionInput, { name: 'big.onnx', bytes: new Uint8Array(300_000) }),
      { status: 413, code: 'BAD_REQUEST', message: /over 200000 bytes.*MAX_UPLOAD_BYTES/ },
    ],
    [
      'an unsupported op (Tanh)',
      () => upload(fashionInput, onnx('bad-tanh.onnx')),
      {
        status: 400,
        code: 'BAD_USER_INPUT',
        reason: 'UNSUPPORTED_OP',
        field: 'model',
        message: /Tanh.*supported: /,
      },
    ],
    [
      'a residual graph',
      () => upload(fashionInput, onnx('bad-residual.onnx')),
      { status: 400, code: 'BAD_USER_INPUT', reason: 'UNSUPPORTED_GRAPH', message: /Add/ },
    ],
    [
      'a dynamic dimension other than the batch',
      () => upload(fashionInput, onnx('bad-dynamic-size.onnx')),
      { status: 400, code: 'BAD_USER_INPUT', reason: 'DYNAMIC_DIMENSION', message: /./ },
    ],
    [
      'a second input',
      () => upload(fashionInput, onnx('bad-two-inputs.onnx')),
      { status: 400, code: 'BAD_USER_INPUT', reason: 'SECOND_INPUT', message: /./ },
    ],
    [
      'a label count that does not match the dataset',
      () =>
        upload(
          { ...fashionInput, datasetOptions: { ...procedural, labels: 4 } },
          onnx('fashion28-bn.onnx'),
        ),
      {
        status: 400,
        code: 'BAD_USER_INPUT',
        reason: 'LABEL_MISMATCH',
        field: 'dataset',
        message: /10 outputs, dataset procedural has 4 labels: give labelMapping/,
      },
    ],
    [
      'an input shape that does not match the dataset',
      () =>
        upload(
          { ...fashionInput, datasetOptions: { imageSize: 16, labels: 10 } },
          onnx('fashion28-bn.onnx'),
        ),
      {
        status: 400,
        code: 'BAD_USER_INPUT',
        reason: 'SHAPE_MISMATCH',
        field: 'dataset',
        message: /28x28x1 .* has 16x16x3/,
      },
    ],
    [
      'a label mapping to an output the network does not have',
      () =>
        upload(
          { ...fashionInput, labelMapping: [0, 1, 2, 3, 4, 5, 6, 7, 8, 12] },
          onnx('fashion28-bn.onnx'),
        ),
      {
        status: 400,
        code: 'BAD_USER_INPUT',
        reason: 'LABEL_MISMATCH',
        field: 'labelMapping',
        message: /labelMapping\[9\] = 12/,
      },
    ],
    [
      'a TensorFlow.js model without its weight file',
      () => upload(fashionInput, tfjsModel),
      {
        status: 400,
        code: 'BAD_USER_INPUT',
        reason: 'MISSING_WEIGHTS',
        field: 'weights',
        message: /./,
      },
    ],
    [
      'a TensorFlow.js model with a short weight file',
      () =>
        upload(fashionInput, tfjsModel, [
          { name: 'weights.bin', bytes: tfjsWeights.subarray(0, 1000) },
        ]),
      {
        status: 400,
        code: 'BAD_USER_INPUT',
        reason: 'SHORT_WEIGHTS',
        field: 'weights',
        message: /./,
      },
    ],
    [
      'no model part',
      () => upload(fashionInput, null),
      { status: 400, code: 'BAD_USER_INPUT', field: 'model', message: /model/ },
    ],
    [
      'an unknown dataset',
      () => upload({ ...fashionInput, dataset: 'imagenet' }, onnx('fashion28-bn.onnx')),
      {
        status: 400,
        code: 'BAD_USER_INPUT',
        field: 'input.dataset',
        message: /input.dataset: is not a known dataset .*got "imagenet"/,
      },
    ],
    [
      'input settings with the wrong channel count',
      () =>
        upload(
          {
            ...fashionInput,
            input: {
              pixelScale: 'unit',
              mean: [0.5, 0.5, 0.5],
              std: [1, 1, 1],
              channelOrder: 'rgb',
            },
          },
          onnx('fashion28-bn.onnx'),
        ),
      {
        status: 400,
        code: 'BAD_USER_INPUT',
        reason: 'SETTINGS_MISMATCH',
        field: 'input',
        message: /1 means and stds/,
      },
    ],
  ];

  it.each(cases)('%s', async (_name, send, expected) => {
    const before = await countStored();
    const answer = await send();
    expect(answer.status).toBe(expected.status);
    expect(answer.data).toBeUndefined();
    const [error] = answer.errors!;
    expect(error!.message).toMatch(expected.message);
    expect(error!.extensions.code).toBe(expected.code);
    if (expected.reason) expect(error!.extensions.reason).toBe(expected.reason);
    if (expected.field) expect(error!.extensions.field).toBe(expected.field);
    expect(await countStored()).toEqual(before);
  });

  it('refuses a name already taken (CONFLICT) and a body that is not multipart (415)', async () => {
    const before = await countStored();
    const taken = await upload(
      { ...fashionInput, name: 'VGG-6/28x28x1' },
      onnx('fashion28-bn.onnx'),
    );
    expect(taken.status).toBe(409);
    expect(taken.errors![0]!.extensions).toMatchObject({ code: 'CONFLICT', field: 'input.name' });
    const json = await fetch(uploadUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(json.status).toBe(415);
    expect(await countStored()).toEqual(before);
  });
});

describe('filterscope import', () => {
  const capture = () => {
    let text = '';
    return { stream: { write: (s: string) => (text += s) }, text: () => text };
  };
  const file = join(FIXTURES, 'onnx/fashion28-folded.onnx');
  const args = [
    file,
    '--dataset',
    'procedural',
    '--dataset-options',
    '{"imageSize":28,"channels":1,"labels":10,"trainSize":64,"testSize":64}',
    '--no-progress',
  ];

  it('uploads, follows the evaluation, prints the run id and the test SR', async () => {
    const out = capture();
    const err = capture();
    const status = await importCommand([...args, '--name', 'from-the-cli', '--url', t.server.url], {
      env: {},
      stdout: out.stream,
      stderr: err.stream,
    });
    expect(err.text()).toMatch(/test SR 0\.\d{4}/);
    expect(status).toBe(0);
    const runId = out.text().trim();
    const imported = await run(runId);
    expect(imported).toMatchObject({ status: 'SUCCEEDED', origin: 'IMPORTED', testExamples: 64 });
    expect(imported.imported.fileName).toBe('fashion28-folded.onnx');
    expect(imported.architecture.name).toBe('from-the-cli');
  });

  it('is probed and reported by reproduce --run like a trained run', async () => {
    const out = capture();
    const err = capture();
    expect(
      await importCommand([...args, '--name', 'to-report', '--url', t.server.url], {
        env: {},
        stdout: out.stream,
        stderr: err.stream,
      }),
    ).toBe(0);
    const folder = mkdtempSync(join(tmpdir(), 'filterscope-report-'));
    try {
      const log = capture();
      const status = await reproduceCommand(
        [
          ...['--run', out.text().trim(), '--url', t.server.url, '--out', folder],
          ...['--probe-train', '64', '--probe-test', '64', '--head-epochs', '1', '--no-progress'],
        ],
        { env: {}, stdout: log.stream, stderr: log.stream },
      );
      expect(log.text().trim()).toBe(folder);
      expect(status).toBe(0);
      const report = readFileSync(join(folder, 'README.md'), 'utf8');
      expect(report).toMatch(/\| File \| fashion28-folded\.onnx \|/);
      expect(report).toMatch(/\| Format \| ONNX \|/);
      expect(report).toMatch(/no training history here/);
      expect(existsSync(join(folder, 'training-loss.svg'))).toBe(false);
      expect(existsSync(join(folder, 'sr-per-layer.svg'))).toBe(true);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('says why a file is refused (the reason, the node, what is supported) and exits 1', async () => {
    const out = capture();
    const err = capture();
    const status = await importCommand(
      [
        join(FIXTURES, 'onnx/bad-tanh.onnx'),
        ...args.slice(1),
        '--name',
        'never-stored',
        '--url',
        t.server.url,
      ],
      { env: {}, stdout: out.stream, stderr: err.stream },
    );
    expect(status).toBe(1);
    expect(err.text()).toMatch(/refused \(400 UNSUPPORTED_OP\): model: .*Tanh/);
    expect(err.text()).toMatch(/node: .* \(Tanh\)/);
    expect(err.text()).toMatch(/supported: .*Conv/);
    expect(out.text()).toBe('');
  });

  it('takes --mean and --std alone (unit pixels, rgb) and asks for them with the other settings', async () => {
    const out = capture();
    const err = capture();
    const given = ['--mean', '0.5', '--std', '0.25', '--name', 'cli-stats', '--url', t.server.url];
    expect(
      await importCommand([...args, ...given], { env: {}, stdout: out.stream, stderr: err.stream }),
    ).toBe(0);
    const res = await t.gql<{ run: { imported: { input: unknown } } }>(
      `query($id: ID!) { run(id: $id) { imported { input { pixelScale mean std channelOrder } } } }`,
      { id: out.text().trim() },
    );
    expect(res.data!.run.imported.input).toEqual({
      pixelScale: 'UNIT',
      mean: [0.5],
      std: [0.25],
      channelOrder: 'RGB',
    });
    const refused = capture();
    const status = await importCommand(
      [...args, '--pixel-scale', 'byte', '--std', '64', '--name', 'never', '--url', t.server.url],
      { env: {}, stdout: capture().stream, stderr: refused.stream },
    );
    expect(status).toBe(2);
    expect(refused.text()).toContain('the input settings need --mean and --std: give --mean too');
  });
});
