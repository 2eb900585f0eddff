import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { openStore, pgliteDirOf, type Store } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrate.js';

/** The databases a store-level suite runs against: PGlite always, PostgreSQL when configured. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? '';

export type DatabaseKind = 'pglite' | 'postgres';

export function databaseKinds(): DatabaseKind[] {
  if (TEST_DATABASE_URL === '') {
    // Said once per suite so that a skipped PostgreSQL run is never silent.
    console.warn(
      'TEST_DATABASE_URL is not set: PostgreSQL variants of this suite are skipped (npm run test:pg runs them)',
    );
    return ['pglite'];
  }
  return ['pglite', 'postgres'];
}

/** A home folder whose pgdata is a copy of the pre-migrated template (about 0.5 s to open). */
export function freshHome(): { home: string; cleanup: () => void } {
  const home = mkdtempSync(join(tmpdir(), 'filterscope-test-'));
  const template = process.env.FILTERSCOPE_TEST_PGLITE_TEMPLATE;
  if (template) cpSync(template, join(home, 'pgdata'), { recursive: true });
  return { home, cleanup: () => rmSync(home, { recursive: true, force: true }) };
}

/** A new, empty PostgreSQL database for one suite, dropped by `cleanup`. */
export async function freshPostgresDatabase(): Promise<{
  url: string;
  cleanup: () => Promise<void>;
}> {
  const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => undefined });
  const name = `filterscope_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  await admin.unsafe(`create database ${name}`);
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    cleanup: async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

/** A migrated store on a fresh database of `kind`; `cleanup` closes it and removes the database. */
export async function openTestStore(
  kind: DatabaseKind,
): Promise<{ store: Store; cleanup: () => Promise<void> }> {
  let store: Store;
  let remove: () => Promise<void> | void;
  if (kind === 'postgres') {
    const pg = await freshPostgresDatabase();
    store = await openStore({ databaseUrl: pg.url, pgliteDir: '' });
    remove = pg.cleanup;
  } else {
    const home = freshHome();
    store = await openStore({ databaseUrl: null, pgliteDir: pgliteDirOf(home.home) });
    remove = home.cleanup;
  }
  await migrate(store);
  return {
    store,
    cleanup: async () => {
      await store.close();
      await remove();
    },
  };
}
