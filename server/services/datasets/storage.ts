import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { from as copyFrom, type CopyStreamQuery } from 'pg-copy-streams';
import { schema, type Db, type DbOrTx } from '@/db/client';
import { projectStorage, type Environment } from '@/db/schema';
import { copyErrorLine } from './copy-errors';

/**
 * Where a project's data lives: one Postgres schema per environment (`p_<project hex>_design`,
 * `p_<project hex>_production`), owned in practice by one role per project (`sb_p_<project hex>`)
 * that has USAGE and CREATE on those schemas and nothing else. Created lazily, once.
 */
export type ProjectStorage = { projectId: string; roleName: string; rolePassword: string };

export type DataDriver = { kind: 'postgres'; pool: pg.Pool };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function projectHex(projectId: string): string {
  if (!UUID.test(projectId)) throw new Error(`not a project id: ${projectId}`);
  return projectId.replace(/-/g, '').toLowerCase();
}

export const schemaNameOf = (projectId: string, env: Environment) => `p_${projectHex(projectId)}_${env}`;
export const roleNameOf = (projectId: string) => `sb_p_${projectHex(projectId)}`;

/** Quotes an identifier for SQL text. Every name we interpolate goes through here. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function driverOf(db: Db): DataDriver {
  const client = (db as unknown as { $client?: unknown }).$client;
  if (client instanceof pg.Pool) return { kind: 'postgres', pool: client };
  throw new Error('unsupported database client: expected a node-postgres Pool');
}

const ensured = new WeakMap<Db, Map<string, Promise<ProjectStorage>>>();

/** The project's role and schemas, created on first use (by whichever process gets there first). */
export function ensureProjectStorage(db: Db, projectId: string): Promise<ProjectStorage> {
  let byProject = ensured.get(db);
  if (!byProject) ensured.set(db, (byProject = new Map()));
  let p = byProject.get(projectId);
  if (!p) {
    p = createProjectStorage(db, projectId);
    byProject.set(projectId, p);
    p.catch(() => byProject.delete(projectId));
  }
  return p;
}

async function createProjectStorage(db: Db, projectId: string): Promise<ProjectStorage> {
  const [existing] = await db.select().from(projectStorage).where(eq(projectStorage.projectId, projectId));
  if (existing) return existing;
  const roleName = roleNameOf(projectId);
  return withDataTransaction(db, async (s) => {
    // Roles are cluster-wide and CREATE ROLE has no IF NOT EXISTS: serialise creators.
    await s.query('select pg_advisory_xact_lock(hashtext($1))', [`stagebook-storage:${projectId}`]);
    const [again] = await s.tx.select().from(projectStorage).where(eq(projectStorage.projectId, projectId));
    if (again) return again;
    const rolePassword = randomBytes(24).toString('hex');
    const exists = (await s.query('select 1 from pg_roles where rolname = $1', [roleName])).length > 0;
    // The role logs in itself: user SQL runs in its own session (see sql-sandbox.ts).
    const attributes = `LOGIN PASSWORD '${rolePassword}' NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS`;
    await s.query(exists ? `ALTER ROLE ${ident(roleName)} ${attributes}` : `CREATE ROLE ${ident(roleName)} ${attributes}`);
    const [me] = await s.query('select rolsuper, current_database() as db from pg_roles where rolname = current_user');
    // The application works on the project's tables as the role's member when it is not superuser.
    if (!me?.rolsuper) await s.query(`GRANT ${ident(roleName)} TO CURRENT_USER`);
    await s.query(`GRANT CONNECT ON DATABASE ${ident(String(me?.db))} TO ${ident(roleName)}`);
    for (const env of ['design', 'production'] as const) {
      const schemaName = schemaNameOf(projectId, env);
      await s.query(`CREATE SCHEMA IF NOT EXISTS ${ident(schemaName)}`);
      await s.query(`REVOKE ALL ON SCHEMA ${ident(schemaName)} FROM PUBLIC`);
      await s.query(`GRANT USAGE, CREATE ON SCHEMA ${ident(schemaName)} TO ${ident(roleName)}`);
    }
    const [row] = await s.tx.insert(projectStorage).values({ projectId, roleName, rolePassword }).returning();
    if (!row) throw new Error('project storage insert returned no row');
    return row;
  });
}

/**
 * One transaction on one connection, with both a drizzle handle (for metadata and audit rows) and
 * raw access (for data DDL and COPY) to the same transaction: the data change and its audit event
 * commit together or not at all.
 */
export type DataSession = {
  tx: DbOrTx;
  query: (text: string, params?: unknown[]) => Promise<Record<string, unknown>[]>;
  /**
   * Loads CSV (UTF-8) with `COPY <target> FROM STDIN WITH (FORMAT csv)`; returns rows copied. A value
   * the database refuses throws a CopyRefused naming the data row (0-based, across all batches).
   */
  copyCsv: (target: string, batches: AsyncIterable<CopyBatch>) => Promise<number>;
  /**
   * A raw `COPY ... FROM STDIN` on this transaction's connection, for callers that stream their own
   * format (batch scoring writes binary COPY). The stream must have finished or been destroyed
   * before the next statement.
   */
  copyFromStdin: (statement: string) => CopyStreamQuery;
};

export type CopyBatch = { csv: Buffer; firstRow: number };

export class CopyRefused extends Error {
  constructor(
    readonly row: number,
    readonly column: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'CopyRefused';
  }
}

function refused(err: unknown, firstRow: number): unknown {
  const at = copyErrorLine(err);
  return at ? new CopyRefused(firstRow + at.line - 1, at.column, at.message) : err;
}

export async function withDataTransaction<T>(db: Db, fn: (s: DataSession) => Promise<T>): Promise<T> {
  const client = await driverOf(db).pool.connect();
  let broken: Error | undefined;
  try {
    const tdb = drizzlePg(client, { schema }) as unknown as Db;
    return await tdb.transaction((tx) =>
      fn({
        tx,
        query: async (text, params) => (await client.query(text, params as unknown[])).rows as Record<string, unknown>[],
        copyCsv: (target, chunks) => copyIntoPostgres(client, target, chunks),
        copyFromStdin: (statement) => client.query(copyFrom(statement)),
      }),
    );
  } catch (err) {
    broken = err instanceof Error ? err : new Error(String(err));
    throw err;
  } finally {
    // A connection that failed mid-COPY is not worth reusing.
    client.release(broken);
  }
}

async function copyIntoPostgres(client: pg.PoolClient, target: string, batches: AsyncIterable<CopyBatch>): Promise<number> {
  const stream = client.query(copyFrom(`COPY ${target} FROM STDIN WITH (FORMAT csv)`));
  let refusal: Error | null = null;
  const finished = new Promise<void>((resolve, reject) => {
    stream.on('finish', resolve);
    stream.on('error', (err) => {
      refusal ??= err;
      reject(err);
    });
  });
  // Without this, an early COPY error would surface only as an unhandled rejection.
  finished.catch(() => {});
  try {
    // One batch on its way to Postgres while the next is encoded: waiting for each batch to reach
    // the socket before encoding the next made the two take turns. Never more than one write
    // outstanding, and none once Postgres has refused a row (an 'error' event; the stream is not
    // destroyed, but pg-copy-streams drops its connection, so a later write would throw).
    let sending: Promise<void> | null = null;
    for await (const batch of batches) {
      if (sending) await Promise.race([finished, sending]);
      if (refusal) throw refusal;
      sending = new Promise<void>((resolve) => stream.write(batch.csv, () => resolve()));
    }
    if (sending) await Promise.race([finished, sending]);
    if (refusal) throw refusal;
  } catch (err) {
    if (copyErrorLine(err)) throw refused(err, 0);
    stream.destroy(err instanceof Error ? err : new Error(String(err)));
    await finished.catch(() => {});
    throw err;
  }
  stream.end();
  // One COPY for the whole upload: its line numbers count from the first data row.
  await finished.catch((err: unknown) => {
    throw refused(err, 0);
  });
  return Number(stream.rowCount);
}
