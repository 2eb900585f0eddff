import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * PGlite has no lock against a second process opening the same folder, and two writers corrupt
 * it. filterscope takes a pid file in the home folder; a stale one (its process is gone, e.g.
 * after a kill) is taken over.
 */
export class HomeLock {
  private constructor(private readonly file: string) {}

  static acquire(home: string): HomeLock {
    mkdirSync(home, { recursive: true });
    const file = join(home, 'filterscope.pid');
    const holder = readPid(file);
    if (holder !== null && holder !== process.pid && isAlive(holder)) {
      throw new Error(
        `FILTERSCOPE_HOME ${home} is in use by another filterscope process (pid ${holder}); ` +
          'stop it, or give this one another FILTERSCOPE_HOME or a DATABASE_URL',
      );
    }
    writeFileSync(file, `${process.pid}\n`);
    return new HomeLock(file);
  }

  release(): void {
    if (readPid(this.file) === process.pid) rmSync(this.file, { force: true });
  }
}

function readPid(file: string): number | null {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
