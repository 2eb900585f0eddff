import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { ArchitectureSpec } from '../../../src/architecture/index.js';
import { readOnnx, writeOnnx } from '../../../src/interop/index.js';
import {
  filterscopeLogits,
  fixture,
  nhwcToNchw,
  reference,
  relativeDifference,
} from './helpers.js';
import { FLAT_SPEC, GAP_SPEC, randomInputs, randomWeights } from './specs.js';

/**
 * Debian's python3-onnx (1.12). CI installs it; a missing checker fails the test, never skips it.
 */
const PYTHON = '/usr/bin/python3';

let dir: string;
beforeAll(async () => {
  tf.env().set('IS_TEST', true);
  await tf.setBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'filterscope-onnx-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs onnx.checker.check_model (full check) on the file; throws with the checker's message. */
function check(bytes: Uint8Array, name: string): string {
  const path = join(dir, `${name}.onnx`);
  writeFileSync(path, bytes);
  return execFileSync(
    PYTHON,
    [
      '-c',
      'import onnx, sys; m = onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True); print("ok", onnx.__version__, m.ir_version, m.opset_import[0].version)',
      path,
    ],
    { encoding: 'utf8' },
  ).trim();
}

/**
 * onnxruntime-node's (CPU) outputs for NCHW inputs. It runs in a child process: its binding
 * returns typed arrays of Node's own realm, which onnxruntime-common, loaded inside Jest's
 * sandbox, refuses ("A float32 tensor's data must be type of function Float32Array()").
 */
async function onnxruntime(
  bytes: Uint8Array,
  nchw: Float32Array,
  dims: number[],
): Promise<number[][]> {
  const model = join(dir, `run-${runs}.onnx`);
  const input = join(dir, `run-${runs++}.json`);
  writeFileSync(model, bytes);
  writeFileSync(input, JSON.stringify({ data: Array.from(nchw), dims }));
  const script = `
    const ort = require('onnxruntime-node');
    const fs = require('node:fs');
    (async () => {
      const session = await ort.InferenceSession.create(process.argv[1]);
      const { data, dims } = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
      const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', Float32Array.from(data), dims) };
      const out = (await session.run(feeds))[session.outputNames[0]];
      const [n, c] = out.dims;
      const rows = Array.from({ length: n }, (_, i) => Array.from(out.data.subarray(i * c, (i + 1) * c)));
      process.stdout.write(JSON.stringify(rows));
    })().catch((e) => { console.error(e); process.exit(1); });`;
  const stdout = execFileSync(process.execPath, ['-e', script, model, input], {
    encoding: 'utf8',
    cwd: join(__dirname, '../../..'),
  });
  return JSON.parse(stdout) as number[][];
}
let runs = 0;

const nchwOf = (
  spec: ArchitectureSpec,
  nhwc: Float32Array,
  n: number,
): [Float32Array, number[]] => {
  const [h, w, c] = spec.inputShape;
  return [nhwcToNchw(nhwc, [n, h, w, c]), [n, c, h, w]];
};

describe('writeOnnx', () => {
  it.each([
    ['flatten', FLAT_SPEC],
    ['global pooling', GAP_SPEC],
  ])("passes onnx's checker and onnxruntime gives filterscope's logits (%s)", async (_, spec) => {
    const weights = await randomWeights(spec, 7);
    const bytes = writeOnnx(spec, weights, {});
    expect(check(bytes, spec.name.replace(/ /g, '-'))).toMatch(/^ok 1\.12\.0 7 13$/);
    const x = randomInputs(spec, 3, 4);
    const [nchw, dims] = nchwOf(spec, x, 3);
    const diff = relativeDifference(
      await onnxruntime(bytes, nchw, dims),
      filterscopeLogits(spec, weights, x),
    );
    console.log('onnx write', spec.name, diff);
    expect(diff).toBeLessThan(1e-5);
  });

  it('reads back what it writes: the same spec, weights and metadata', async () => {
    for (const spec of [FLAT_SPEC, GAP_SPEC]) {
      const weights = await randomWeights(spec, 2);
      const c = spec.inputShape[2];
      const metadata = {
        normalization: { mean: Array(c).fill(0.25), std: Array(c).fill(0.5) },
        labelNames: Array.from({ length: spec.labels }, (_, i) => `class ${i}`),
      };
      const back = readOnnx(writeOnnx(spec, weights, metadata));
      expect(back.spec).toEqual(spec);
      expect(back.weights).toEqual(weights);
      expect(back.metadata).toEqual(metadata);
      expect(back.notes).toEqual([]);
    }
  });

  it("re-exports PyTorch's networks: onnxruntime on filterscope's file gives PyTorch's logits", async () => {
    for (const [file, ref] of [
      ['small12x16-bn', 'small12x16'],
      ['vggbn16x20-bn', 'vggbn16x20'],
      ['gap10x14-bn', 'gap10x14'],
    ]) {
      const network = readOnnx(fixture(`onnx/${file}.onnx`));
      const bytes = writeOnnx(network.spec, network.weights);
      check(bytes, `re-${file}`);
      const r = reference(`onnx/${ref}.json`);
      const diff = relativeDifference(
        await onnxruntime(bytes, Float32Array.from(r.inputs), r.inputShapeNCHW!),
        r.logits,
      );
      console.log('onnx re-export', file, diff);
      expect(diff).toBeLessThan(1e-4);
    }
  });

  it('refuses weights that do not match the spec, naming the weight', async () => {
    const weights = await randomWeights(GAP_SPEC, 1);
    expect(() => writeOnnx(GAP_SPEC, weights.slice(1))).toThrow(/no weights named conv1\/kernel/);
    const wrong = weights.map((w) =>
      w.name === 'dense1/bias' ? { ...w, shape: [4], values: new Float32Array(4) } : w,
    );
    expect(() => writeOnnx(GAP_SPEC, wrong)).toThrow(/dense1\/bias have shape \[4\].*needs \[5\]/);
    const extra = [...weights, { name: 'conv9/kernel', shape: [1], values: new Float32Array(1) }];
    expect(() => writeOnnx(GAP_SPEC, extra)).toThrow(/not in the spec: conv9\/kernel/);
  });
});

describe('the PyTorch fixtures themselves', () => {
  it.each([
    ['small12x16-folded', 'small12x16'],
    ['fashion28-bn', 'fashion28'],
    ['gap10x14-bn', 'gap10x14'],
  ])('onnxruntime on %s gives the outputs PyTorch recorded', async (file, ref) => {
    const r = reference(`onnx/${ref}.json`);
    const out = await onnxruntime(
      fixture(`onnx/${file}.onnx`),
      Float32Array.from(r.inputs),
      r.inputShapeNCHW!,
    );
    expect(relativeDifference(out, r.outputs!)).toBeLessThan(1e-5);
  });
});
