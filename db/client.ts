import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import type { ExtractTablesWithRelations } from 'drizzle-orm';
import pg from 'pg';
import * as schema from './schema';

export { schema };
export type Schema = typeof schema;
/** The data layer is written once against this type. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
export type Tx = PgTransaction<PgQueryResultHKT, Schema, ExtractTablesWithRelations<Schema>>;
export type DbOrTx = Db | Tx;

export const migrationsFolder = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

/** Where the server came from: started by Stagebook under its home, or given by DATABASE_URL. Same code path either way. */
export type DatabaseKind = 'embedded' | 'postgres';

export type Database = {
  db: Db;
  driver: DatabaseKind;
  /** Runs raw SQL outside drizzle (maintenance, tests); returns rows. */
  query: (text: string, params?: unknown[]) => Promise<Record<string, unknown>[]>;
  migrate: () => Promise<void>;
  close: () => Promise<void>;
};

export type DatabaseOptions = { url: string; poolSize?: number; driver?: DatabaseKind };

/**
 * A node-postgres pool on a Postgres server (the embedded one or DATABASE_URL's). Connects once
 * before returning, so an unreachable server is one clear error here rather than a failed first query.
 */
export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  const pool = new pg.Pool({ connectionString: opts.url, max: opts.poolSize ?? 10 });
  let closing = false;
  pool.on('error', (err) => {
    // pool.end() resolves before its idle connections finish saying goodbye: a server stopped right
    // after (the embedded one at shutdown) terminates them mid-way. Nothing is lost; stay quiet.
    if (!closing) console.error('postgres pool error', err);
  });
  try {
    const client = await pool.connect();
    client.release();
  } catch (err) {
    await pool.end().catch(() => {});
    throw new Error(connectFailure(opts.url, err), { cause: err });
  }
  const db = drizzle(pool, { schema }) as unknown as Db;
  return {
    db,
    driver: opts.driver ?? 'postgres',
    query: async (text, params) => (await pool.query(text, params as unknown[])).rows,
    migrate: () => migratePg(drizzle(pool, { schema }), { migrationsFolder }),
    close: () => {
      closing = true;
      return pool.end();
    },
  };
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ECONNRESET: 'connection reset',
  '28P01': 'password authentication failed',
  '28000': 'authorization rejected',
  '3D000': 'database does not exist',
};

/** One line naming host, port, database and why: the operator's first question, answered. */
export function connectFailure(url: string, err: unknown): string {
  let where = 'the database server';
  try {
    const u = new URL(url);
    where = `${u.hostname || 'localhost'}:${u.port || '5432'}${u.pathname && u.pathname !== '/' ? ` (database ${decodeURIComponent(u.pathname.slice(1))})` : ''}`;
  } catch {
    // not a URL we can take apart; the reason still helps
  }
  const e = err as { code?: unknown; message?: unknown; errors?: { code?: unknown }[] };
  // Node reports a refused dual-stack connect as an AggregateError whose parts carry the code.
  const code = typeof e.code === 'string' ? e.code : typeof e.errors?.[0]?.code === 'string' ? e.errors[0].code : undefined;
  const reason = (code && REASONS[code]) ?? (typeof e.message === 'string' && e.message ? e.message : String(err));
  return `cannot connect to Postgres at ${where}: ${reason}${code && REASONS[code] ? ` (${code})` : ''}`;
}
