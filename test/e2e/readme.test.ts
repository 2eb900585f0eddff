import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { collect, startTestServer, type TestServer } from '../helpers/server.js';

/**
 * The README's shell blocks that talk to the server, run as they are written (bash, curl, jq) on a
 * live server: the tour, startTraining and startProbe with variables, and the two subscription
 * examples (examples/subscribe.mjs and examples/subscribe.py) following the run to its end. A
 * block is the fenced code after a `<!-- readme.test.ts: <name> -->` line; only `localhost:4000`
 * is rewritten to the test server's address.
 */
jest.setTimeout(180_000);
const exec = promisify(execFile);
const ROOT = join(__dirname, '..', '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

function block(name: string, language = 'sh'): string {
  const match = new RegExp(
    `<!-- readme\\.test\\.ts: ${name} -->\\s*\`\`\`${language}\\n([\\s\\S]*?)\\n\`\`\``,
  ).exec(README);
  if (!match) throw new Error(`README.md has no block marked "readme.test.ts: ${name}"`);
  return match[1]!;
}

/** Runs `script` with bash in the repository root; fails on any failing command. */
async function bash(script: string, env: Record<string, string> = {}) {
  const { stdout, stderr } = await exec('bash', ['-euo', 'pipefail', '-c', script], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
  return { stdout, stderr };
}

interface TrainingEvent {
  sequence: number;
  type: string;
  status: string | null;
}

describe('the README’s commands', () => {
  let t: TestServer;
  let address: string;
  /** Where the examples find the server, and Debian's python3 (with websocket-client) first. */
  let env: Record<string, string>;
  const local = (text: string) => text.replaceAll('localhost:4000', address);
  let runId = '';

  beforeAll(async () => {
    for (const tool of ['curl', 'jq'])
      await exec('bash', ['-c', `command -v ${tool}`]).catch(() => {
        throw new Error(`the README's shell blocks need ${tool}: apt-get install ${tool}`);
      });
    t = await startTestServer('pglite', { FILTERSCOPE_RUNNERS: '1' });
    address = new URL(t.server.url).host;
    env = { FILTERSCOPE_URL: t.server.url, PATH: `/usr/bin:${process.env.PATH ?? ''}` };
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('runs the tour: presets, datasets, and the architecture "small"', async () => {
    const { stdout } = await bash(local(block('tour')));
    const answers = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { data?: Record<string, unknown>; errors?: unknown });
    expect(answers.map((a) => a.errors)).toEqual([undefined, undefined, undefined]);
    expect(answers[2]!.data).toMatchObject({ createArchitecture: { id: expect.any(String) } });
  });

  it('starts a run with startTraining and variables over curl', async () => {
    const { stdout } = await bash(`${local(block('train'))}\necho "RUN=$RUN"`);
    runId = /^RUN=(\S+)$/m.exec(stdout)?.[1] ?? '';
    expect(runId).not.toBe('');
    expect(runId).not.toBe('null');
    const run = await t.gql<{ run: { status: string; epochs: number } }>(
      `query($id: ID!) { run(id: $id) { status epochs } }`,
      { id: runId },
    );
    expect(run.data?.run.epochs).toBe(5);
  });

  it('follows the run live with examples/subscribe.mjs and examples/subscribe.py, each to `complete`', async () => {
    const lines = block('follow')
      .split('\n')
      .filter((line) => line.trim() && !line.trim().startsWith('#'));
    expect(lines.map((line) => line.split(' ')[0])).toEqual(['node', 'python3']);
    // Both at once, while the run trains.
    const followers = lines.map((line) => {
      const child = spawn('bash', ['-c', line], {
        cwd: ROOT,
        env: { ...process.env, ...env, RUN: runId, PYTHONUNBUFFERED: '1' },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const code = new Promise<number | null>((resolve) => child.on('exit', resolve));
      return { line, code, output: () => ({ stdout, stderr }) };
    });
    const codes = await Promise.all(followers.map((f) => f.code));
    const history = await collect<TrainingEvent>(
      t.ws(),
      `subscription($r: ID!) { trainingProgress(runId: $r) { sequence type status } }`,
      { r: runId },
    );
    const expected = history.items.map((e) => `#${e.sequence} ${e.type}`);
    expect(history.items.at(-1)?.status).toBe('SUCCEEDED');
    for (const [i, follower] of followers.entries()) {
      const { stdout, stderr } = follower.output();
      console.log(`${follower.line}\n${stdout}${stderr}`);
      expect({ line: follower.line, code: codes[i], stderr }).toEqual({
        line: follower.line,
        code: 0,
        stderr: '',
      });
      const printed = stdout.trim().split('\n');
      // Every event once, in order, then `complete` when the stream ends.
      expect(printed.slice(0, -1).map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual(expected);
      expect(printed.at(-1)).toBe('complete');
      expect(stdout).toMatch(/^#\d+ EPOCH epoch 5: train loss \d+\.\d{4}, test SR 0\.\d{3}$/m);
      expect(stdout).toMatch(/^#\d+ STATUS SUCCEEDED$/m);
    }
  });

  it('probes the run with startProbe and variables over curl, and reads its layers', async () => {
    const { stdout } = await bash(`${local(block('probe'))}\necho\necho "PROBE=$PROBE"`, {
      RUN: runId,
    });
    const probeId = /^PROBE=(\S+)$/m.exec(stdout)?.[1] ?? '';
    expect(probeId).not.toMatch(/^(|null)$/);
    const answer = JSON.parse(stdout.split('\n')[0]!) as {
      data?: { probe: { status: string; layers: unknown[] } };
      errors?: unknown;
    };
    expect(answer.errors).toBeUndefined();
    expect(answer.data?.probe.status).toMatch(/^(QUEUED|RUNNING|SUCCEEDED)$/);
    const done = await collect<{ status: string | null }>(
      t.ws(),
      `subscription($p: ID!) { probeProgress(probeId: $p) { status } }`,
      { p: probeId },
    );
    expect(done.items.at(-1)?.status).toBe('SUCCEEDED');
  });
  const fashionHere = existsSync('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz');
  (fashionHere ? it : it.skip)(
    'imports a PyTorch ONNX file with curl and with Python, as written',
    async () => {
      const { stdout } = await bash(local(block('import')));
      const answer = JSON.parse(stdout.trim()) as {
        data?: { run: { id: string; status: string; origin: string } };
        errors?: unknown;
      };
      expect(answer.errors).toBeUndefined();
      expect(answer.data?.run).toMatchObject({ status: 'QUEUED', origin: 'IMPORTED' });
      const python = block('import-python', 'python').replaceAll('localhost:4000', address);
      const { stdout: printed } = await exec('/usr/bin/python3', ['-c', python], { cwd: ROOT });
      const runId = printed.trim();
      expect(runId).toMatch(/^\S+$/);
      const done = await collect<{ status: string | null }>(
        t.ws(),
        `subscription($r: ID!) { trainingProgress(runId: $r) { status } }`,
        { r: runId },
      );
      expect(done.items.at(-1)?.status).toBe('SUCCEEDED');
    },
  );
});
