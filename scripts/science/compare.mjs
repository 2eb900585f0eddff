#!/usr/bin/env node
/**
 * The same VGG-6 weights in PyTorch and in filterscope, side by side.
 *
 *     nice -n 10 /usr/bin/python3 scripts/science/fashion_vgg6.py     # train, export, probe
 *     npm run build && nice -n 10 node scripts/science/compare.mjs      # import, evaluate, probe
 *
 * Reads docs/science/fashion-vgg6-torch.json and fashion-vgg6.onnx (what fashion_vgg6.py wrote),
 * starts `filterscope serve` on a temporary home (or uses --url http://host:port), uploads the
 * ONNX file to POST /import with PyTorch's standardisation as the input settings, waits for the
 * evaluation job (test SR on all 10,000 test images), then runs startProbe with the PyTorch
 * probe's train/test sizes and METHOD.md's default head settings and the same replicate count,
 * and writes docs/science/fashion-vgg6-filterscope.json and the table docs/science/fashion-vgg6.md.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    dir: { type: 'string', default: join(ROOT, 'docs', 'science') },
    name: { type: 'string', default: `torch-vgg6-${Date.now()}` },
  },
});
const torch = JSON.parse(readFileSync(join(args.dir, 'fashion-vgg6-torch.json'), 'utf8'));

function freePort() {
  return new Promise((ok) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

async function startServer() {
  if (args.url) return { base: args.url.replace(/\/graphql$/, ''), stop: async () => {} };
  const home = mkdtempSync(join(tmpdir(), 'filterscope-science-'));
  const port = await freePort();
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'main.js'), 'serve'], {
    env: { ...process.env, PORT: String(port), FILTERSCOPE_HOME: home, DATABASE_URL: '' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/readyz`)).ok) break;
    } catch {
      /* not listening yet */
    }
    if (i > 600 || child.exitCode !== null) throw new Error('the server did not start');
    await new Promise((r) => setTimeout(r, 500));
  }
  return {
    base,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(home, { recursive: true, force: true });
    },
  };
}

async function main() {
  const server = await startServer();
  const gql = async (query, variables = {}) => {
    const res = await fetch(`${server.base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    const body = await res.json();
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data;
  };
  const waitFor = async (query, id, pick, label) => {
    const started = Date.now();
    for (;;) {
      const node = pick(await gql(query, { id }));
      if (node.status === 'SUCCEEDED') return node;
      if (node.status === 'FAILED' || node.status === 'CANCELLED')
        throw new Error(`${label} ${node.status}: ${node.error}`);
      process.stderr.write(
        `\r${label}: ${node.status} ${((Date.now() - started) / 1000).toFixed(0)} s   `,
      );
      await new Promise((r) => setTimeout(r, 5000));
    }
  };
  try {
    const form = new FormData();
    const input = { name: args.name, dataset: 'fashion-mnist', input: torch.input };
    form.append('input', JSON.stringify(input));
    const onnx = readFileSync(join(args.dir, torch.onnx));
    form.append('model', new Blob([onnx]), torch.onnx);
    const t0 = Date.now();
    const answer = await (
      await fetch(`${server.base}/import`, { method: 'POST', body: form })
    ).json();
    if (answer.errors) throw new Error(JSON.stringify(answer.errors));
    const runId = answer.data.run.id;
    const run = await waitFor(
      `query($id: ID!) { run(id: $id) { status error finalTestSR testExamples warnings
        imported { normalizationFrom notes } architecture { parameterCount layers { name kind outputShape } } } }`,
      runId,
      (d) => d.run,
      'evaluation',
    );
    const evaluationSeconds = (Date.now() - t0) / 1000;
    process.stderr.write(`\nfilterscope test SR ${run.finalTestSR} on ${run.testExamples}\n`);
    const p = torch.probe;
    const options = {
      runId,
      maxTrainExamples: p.trainImages,
      maxTestExamples: p.testImages,
      headEpochs: p.headEpochs,
      learningRate: p.learningRate,
      momentum: p.momentum,
      weightDecay: p.weightDecay,
      batchSize: p.batchSize,
      replicates: p.replicates,
    };
    const { startProbe } = await gql(
      `mutation($input: StartProbeInput!) { startProbe(input: $input) { id } }`,
      { input: options },
    );
    const t1 = Date.now();
    const probe = await waitFor(
      `query($id: ID!) { node(id: $id) { ... on Probe { status error backend
        timings { frozenPath featureStore featuresSeconds featureImagesPerSecond headsSeconds afccSeconds }
        layers { layerName probePointShape successRate
          replicates { replicates successRate { mean std values } } } } } }`,
      startProbe.id,
      (d) => d.node,
      'probe',
    );
    const probeSeconds = (Date.now() - t1) / 1000;
    const result = {
      source: 'scripts/science/compare.mjs',
      run: { id: runId, ...run, evaluationSeconds },
      probe: { id: startProbe.id, options, seconds: probeSeconds, ...probe },
    };
    writeFileSync(
      join(args.dir, 'fashion-vgg6-filterscope.json'),
      `${JSON.stringify(result, null, 1)}\n`,
    );
    writeFileSync(join(args.dir, 'fashion-vgg6.md'), table(result));
    process.stdout.write(table(result));
  } finally {
    await server.stop();
  }
}

const f4 = (x) => (x === null || x === undefined ? '-' : x.toFixed(4));

function table({ run, probe }) {
  const p = torch.probe;
  const diff = Math.abs(run.finalTestSR - torch.testSR);
  const rows = probe.layers.map((l, i) => {
    const t = p.layers[i];
    const sr = l.replicates.successRate;
    return `| ${l.layerName} | ${l.probePointShape.join('x')} | ${f4(sr.mean)} ± ${f4(sr.std)} | ${f4(t.mean)} ± ${f4(t.std)} | ${(sr.mean - t.mean >= 0 ? '+' : '') + (sr.mean - t.mean).toFixed(4)} |`;
  });
  return `# VGG-6 on Fashion-MNIST: the same weights in PyTorch and in filterscope

Made by \`scripts/science/fashion_vgg6.py\` (PyTorch ${torch.source.split(',')[0].replace('PyTorch ', '')}, CPU) and
\`scripts/science/compare.mjs\` (filterscope through its API: \`POST /import\`, the evaluation job,
\`startProbe\`). Raw results: \`fashion-vgg6-torch.json\`, \`fashion-vgg6-filterscope.json\`.

VGG-6 as the \`VGG-6/28x28x1\` preset (conv 64, 64, P, 128, 128, P, 256, P, dense 10; 3x3 convs
padded by 1 without bias, batch norm, ReLU), trained in PyTorch for ${torch.settings.epochs} epochs on the first
${torch.settings.train} training images (SGD lr 0.05 cosine, momentum 0.9, weight decay 5e-4, batch 128),
standardised as filterscope does (mean ${torch.input.mean[0].toFixed(4)}, std ${torch.input.std[0].toFixed(4)}: the population
statistics of those images, given to the import as its input settings), exported with
\`torch.onnx.export\` in eval mode with batch norm kept (\`fashion-vgg6.onnx\`; training log:
\`fashion-vgg6-train.log\`).

## Test SR of the network (all ${torch.testImages} test images)

| | test SR |
| --- | --- |
| PyTorch (eval mode) | ${f4(torch.testSR)} |
| filterscope, imported (evaluation job) | ${f4(run.finalTestSR)} |
| difference | ${diff.toFixed(4)} (${diff <= 0.001 ? 'within' : 'NOT within'} 0.001) |

## SR per layer: filterscope's probe against a PyTorch linear probe

Both on the frozen network's features at METHOD.md's probe point, the first ${p.trainImages} training and
${p.testImages} test images, heads trained ${p.headEpochs} epochs (SGD lr ${p.learningRate} cosine, momentum ${p.momentum}, weight
decay ${p.weightDecay}, batch ${p.batchSize}, Glorot-uniform kernel, zero bias), ${p.replicates} replicates (seeds) each: mean ±
sample standard deviation.

| layer | probe point (h x w x F) | filterscope SR(l) | PyTorch linear probe SR | difference |
| --- | --- | --- | --- | --- |
${rows.join('\n')}

filterscope's probe: ${probe.backend}, frozen pass on ${probe.timings?.frozenPath}, features ${probe.timings?.featureStore}
(${probe.timings?.featuresSeconds?.toFixed(0)} s, ${probe.timings?.featureImagesPerSecond?.toFixed(0)} images/s), heads ${probe.timings?.headsSeconds?.toFixed(0)} s, ${probe.seconds.toFixed(0)} s in all (phase 3 included).
PyTorch's probe: features ${p.featuresSeconds.toFixed(0)} s, heads ${p.headsSeconds.toFixed(0)} s. Both on a shared 2-core machine.
`;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
