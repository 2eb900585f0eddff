import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';

/**
 * Runs once before the suites: prepares a migrated PGlite folder that each suite copies instead
 * of paying 5-7 s and ~700 MB for a new instance. Keyed by the migrations journal.
 */
export default async function globalSetup(): Promise<void> {
  // The webgpu tests run Mesa llvmpipe through EGL without a display, which only the surfaceless
  // platform allows. Mesa reads it from the real environment, which a test cannot set (jest
  // gives each test file a copy of process.env): it is set here, before the test processes
  // start, as the server's runner sets it before its engine threads start (src/engine/port.ts).
  process.env.EGL_PLATFORM ??= 'surfaceless';
  const root = join(__dirname, '..');
  const journal = readFileSync(join(root, 'migrations/meta/_journal.json'));
  const hash = createHash('sha256').update(journal).digest('hex').slice(0, 12);
  const template = join(tmpdir(), `filterscope-pglite-template-${hash}`);
  process.env.FILTERSCOPE_TEST_PGLITE_TEMPLATE = template;
  if (existsSync(join(template, 'PG_VERSION'))) return;
  const staging = `${template}.${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  // Jest's module mapper does not apply here, so this uses the drivers directly, exactly as
  // src/store/migrate.ts does for PGlite.
  const client = new PGlite(staging);
  await migrate(drizzle(client), { migrationsFolder: join(root, 'migrations') });
  await client.close();
  rmSync(template, { recursive: true, force: true });
  renameSync(staging, template);
}
