import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');
export const CLI = join(ROOT, 'dist', 'main.js');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Compiles dist/ when any file under src/ is newer than dist/main.js (suites spawn the real CLI). */
export function ensureBuilt(): void {
  const lock = join(ROOT, 'dist.build-lock');
  for (let waited = 0; ; waited += 200) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (waited > 120_000)
        throw new Error(`${lock} is held for over 2 minutes; remove it if no build runs`);
      execFileSync('sleep', ['0.2']);
    }
  }
  try {
    let built = 0;
    try {
      built = statSync(CLI).mtimeMs;
    } catch {
      built = 0;
    }
    if (built >= newestSource(join(ROOT, 'src'))) return;
    execFileSync(
      process.execPath,
      [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')],
      {
        cwd: ROOT,
        stdio: 'inherit',
      },
    );
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export interface CliProcess {
  readonly child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
}

/** Spawns `node dist/main.js ...args` with `env` added to the environment. */
export function runCli(args: readonly string[], env: Record<string, string>): CliProcess {
  return runNode([CLI, ...args], { ...process.env, ...env });
}

/** Spawns `node ...args` in the repository root with exactly `env`, collecting its output. */
export function runNode(args: readonly string[], env: NodeJS.ProcessEnv): CliProcess {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  return { child, output: () => text, exited };
}

/** Polls `url` until it answers 200, or throws after `timeoutMs` with the process output. */
export async function waitForReady(
  url: string,
  proc: CliProcess,
  timeoutMs: number,
): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    try {
      const res = await fetch(url);
      if (res.status === 200) return Date.now() - started;
    } catch {
      // not listening yet
    }
    if (proc.child.exitCode !== null)
      throw new Error(`filterscope exited early:\n${proc.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not ready within ${timeoutMs} ms:\n${proc.output()}`);
}
