import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { sql } from 'drizzle-orm';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import type { PgliteDatabase } from 'drizzle-orm/pglite';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import type { Store } from './db.js';

/** The committed drizzle-kit output at the package root, found from src/, dist/ or bench/out/. */
export const MIGRATIONS_FOLDER = findMigrations(__dirname);

function findMigrations(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'migrations');
    if (existsSync(join(candidate, 'meta', '_journal.json'))) return candidate;
    if (dirname(dir) === dir) throw new Error(`no migrations folder above ${from}`);
  }
}

/** Advisory lock key so that two processes starting together do not migrate at once. */
const MIGRATION_LOCK = 727_001;

/** Applies every pending migration; a rerun changes nothing. */
export async function migrate(store: Store): Promise<void> {
  if (store.kind === 'pglite') {
    await migratePglite(store.db as unknown as PgliteDatabase, {
      migrationsFolder: MIGRATIONS_FOLDER,
    });
    return;
  }
  // A session-level advisory lock needs one connection for the lock and the migration alike.
  const client = postgres(store.url as string, { max: 1, onnotice: () => undefined });
  try {
    await client`select pg_advisory_lock(${MIGRATION_LOCK})`;
    await migratePostgres(drizzle(client), { migrationsFolder: MIGRATIONS_FOLDER });
    await client`select pg_advisory_unlock(${MIGRATION_LOCK})`;
  } finally {
    await client.end({ timeout: 5 });
  }
}

/** Number of migrations committed in the migrations folder. */
export function expectedMigrationCount(): number {
  const journal = JSON.parse(
    readFileSync(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8'),
  ) as {
    entries: unknown[];
  };
  return journal.entries.length;
}

/** Number of migrations recorded as applied in the database (0 before the first). */
export async function appliedMigrationCount(store: Store): Promise<number> {
  try {
    const rows = await store.rows<{ n: number | string }>(
      sql`select count(*)::int as n from drizzle.__drizzle_migrations`,
    );
    return Number(rows[0]?.n ?? 0);
  } catch {
    return 0;
  }
}
