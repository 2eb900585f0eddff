import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { sql, type SQL } from 'drizzle-orm';
import postgres from 'postgres';
import * as schema from './schema/index.js';

/** The drizzle database, the same type over PGlite and postgres.js: one set of queries. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export type StoreKind = 'pglite' | 'postgres';

/** An open database: drizzle plus the little that differs between the two drivers. */
export interface Store {
  readonly kind: StoreKind;
  readonly db: Db;
  /** Where it lives: the PGlite folder, or the PostgreSQL URL without its password. */
  readonly location: string;
  /** The PostgreSQL URL, or null for PGlite. */
  readonly url: string | null;
  /** Runs raw SQL and returns its rows (the drivers shape results differently). */
  rows<T extends Record<string, unknown>>(query: SQL): Promise<T[]>;
  /**
   * LISTENs on `channel`; resolves once listening (a NOTIFY sent before that is lost) with a
   * function that stops. postgres.js re-listens by itself after a reconnect.
   */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  /** PostgreSQL URL; null opens PGlite in `pgliteDir`. */
  readonly databaseUrl: string | null;
  /** PGlite data folder; created when missing. Ignored with a URL. */
  readonly pgliteDir: string;
}

/** Opens PGlite (persisted in `pgliteDir`) or PostgreSQL (postgres.js pool). */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  if (options.databaseUrl === null) {
    mkdirSync(options.pgliteDir, { recursive: true });
    const client = new PGlite(options.pgliteDir);
    await client.waitReady;
    const db = drizzlePglite(client, { schema }) as unknown as Db;
    return {
      kind: 'pglite',
      db,
      location: options.pgliteDir,
      url: null,
      rows: async <T extends Record<string, unknown>>(query: SQL) =>
        ((await db.execute(query)) as unknown as { rows: T[] }).rows,
      listen: async (channel, onPayload) => {
        const stop = await client.listen(channel, onPayload);
        return () => stop();
      },
      close: () => client.close(),
    };
  }
  const client = postgres(options.databaseUrl, { max: 10, onnotice: () => undefined });
  const db = drizzlePostgres(client, { schema }) as unknown as Db;
  return {
    kind: 'postgres',
    db,
    location: redact(options.databaseUrl),
    url: options.databaseUrl,
    rows: async <T extends Record<string, unknown>>(query: SQL) =>
      (await db.execute(query)) as unknown as T[],
    listen: async (channel, onPayload) => {
      const { unlisten } = await client.listen(channel, onPayload);
      return unlisten;
    },
    close: () => client.end({ timeout: 5 }),
  };
}

/** The PGlite folder under a filterscope home. */
export const pgliteDirOf = (home: string): string => join(home, 'pgdata');

/** Checks the database answers. */
export async function ping(store: Store): Promise<void> {
  await store.rows(sql`select 1 as ok`);
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres://(unparseable url)';
  }
}
