import { existsSync, renameSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { migrationsFolder, openDatabase, schema } from '@/db/client';

/**
 * `stagebook migrate-home`: a home made by a version that ran on PGlite (`$STAGEBOOK_HOME/pgdata`)
 * is copied into the database the current version runs on, then `pgdata` is renamed out of the way
 * (never deleted: it is the user's only other copy). This is the one place PGlite is still opened.
 *
 * Copied: every table of `public` (app data, audit chain with its hashes as they are), the drizzle
 * migration records, the sequences' positions, and each project's dataset schemas
 * (`p_<hex>_design/_production`) with their tables and rows. The per-project roles are recreated
 * the way server/services/datasets/storage.ts makes them on a server: LOGIN with the password kept
 * in `project_storage`, USAGE and CREATE on the project's schemas only, owner of its tables.
 */
export const LEGACY_PGLITE_DIR = 'pgdata';

export function legacyPgliteDir(home: string): string | null {
  const dir = path.join(home, LEGACY_PGLITE_DIR);
  return existsSync(path.join(dir, 'PG_VERSION')) ? dir : null;
}

export class LegacyHome extends Error {
  constructor(readonly dir: string) {
    super(
      `${dir} holds the database of an earlier Stagebook (PGlite), which this version no longer runs on. ` +
        'Copy it into the embedded PostgreSQL server with `npx tsx server/cli.ts migrate-home` (npm run migrate-home), then start again.',
    );
    this.name = 'LegacyHome';
  }
}

export type MigrateHomeResult = { tables: number; rows: number; projects: number; movedTo: string };

type Column = { name: string; type: string; notNull: boolean };
type Table = { schema: string; name: string; owner: string; columns: Column[] };

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;
const qualified = (t: { schema: string; name: string }) => `${ident(t.schema)}.${ident(t.name)}`;
const PROJECT_SCHEMA = /^p_[0-9a-f]{32}_(design|production)$/;

async function tablesOf(source: PGlite, schemaFilter: string): Promise<Table[]> {
  const rel = await source.query<{ schema: string; name: string; owner: string; kind: string }>(
    `select n.nspname as schema, c.relname as name, pg_get_userbyid(c.relowner) as owner, c.relkind as kind
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where ${schemaFilter} and c.relkind in ('r', 'p', 'v', 'm', 'f')
      order by 1, 2`,
  );
  const tables: Table[] = [];
  for (const r of rel.rows) {
    // Stagebook only ever makes plain tables there; anything else would be lost silently.
    if (r.kind !== 'r') throw new Error(`${r.schema}.${r.name} is a relation of kind '${r.kind}', which migrate-home does not copy`);
    const cols = await source.query<Column>(
      `select attname as name, format_type(atttypid, atttypmod) as type, attnotnull as "notNull"
         from pg_attribute where attrelid = $1::regclass and attnum > 0 and not attisdropped and attgenerated = ''
        order by attnum`,
      [qualified(r)],
    );
    tables.push({ schema: r.schema, name: r.name, owner: r.owner, columns: cols.rows });
  }
  return tables;
}

/** Streams one table's rows from PGlite (COPY TO its /dev/blob device) into the target (COPY FROM STDIN). */
async function copyRows(source: PGlite, target: pg.PoolClient, table: Table): Promise<number> {
  const cols = table.columns.map((c) => ident(c.name)).join(', ');
  const out = await source.query(`COPY (SELECT ${cols} FROM ${qualified(table)}) TO '/dev/blob'`);
  const data = out.blob ? Buffer.from(await out.blob.arrayBuffer()) : Buffer.alloc(0);
  if (data.length === 0) return 0;
  const stream = target.query(copyFrom(`COPY ${qualified(table)} (${cols}) FROM STDIN`));
  await new Promise<void>((resolve, reject) => {
    stream.once('finish', resolve);
    stream.once('error', reject);
    stream.end(data);
  });
  return Number(stream.rowCount);
}

/**
 * Copies a PGlite data directory into the empty database at `targetUrl` (migrated here first).
 * One transaction on the target: a failure leaves it as empty as it was.
 */
export async function copyPgliteDatabase(opts: { pgliteDir: string; targetUrl: string; log?: (line: string) => void }): Promise<Omit<MigrateHomeResult, 'movedTo'>> {
  const log = opts.log ?? (() => {});
  const source = await PGlite.create(opts.pgliteDir);
  const target = await openDatabase({ url: opts.targetUrl, poolSize: 1 });
  try {
    // Both sides at the current schema first, so every table has the same columns on each.
    await migratePglite(drizzlePglite(source, { schema }), { migrationsFolder });
    const [{ n } = { n: 0 }] = await target.query('select count(*)::int as n from pg_tables where schemaname = $1', ['public']);
    if (Number(n) > 0) {
      const [{ users } = { users: 0 }] = await target.query('select count(*)::int as users from users').catch(() => [{ users: 0 }]);
      if (Number(users) > 0) throw new Error('the target database already has users: migrate-home copies into an empty database only');
    }
    await target.migrate();

    const appTables = await tablesOf(source, `n.nspname in ('public', 'drizzle')`);
    const projectTables = (await tablesOf(source, `n.nspname like 'p\\_%'`)).filter((t) => PROJECT_SCHEMA.test(t.schema));
    const storage = (await source.query<{ project_id: string; role_name: string; role_password: string }>('select project_id, role_name, role_password from project_storage')).rows;

    const pool = (target.db as unknown as { $client: pg.Pool }).$client;
    const client = await pool.connect();
    let rows = 0;
    try {
      await client.query('BEGIN');
      // Replica mode: no triggers (the audit chain and bundles are copied as they are, hashes
      // included) and no foreign-key checks while tables arrive in alphabetical order.
      await client.query('SET LOCAL session_replication_role = replica');
      // The migrations just recorded themselves; the source's records (with their dates) replace them.
      await client.query('DELETE FROM drizzle.__drizzle_migrations');
      for (const t of appTables) {
        const copied = await copyRows(source, client, t);
        rows += copied;
        log(`${t.schema}.${t.name}: ${copied} rows`);
      }
      const seqs = await source.query<{ schema: string; name: string; last_value: string | null; is_called: boolean }>(
        `select schemaname as schema, sequencename as name, last_value::text, (last_value is not null) as is_called
           from pg_sequences where schemaname in ('public', 'drizzle')`,
      );
      for (const s of seqs.rows) {
        if (s.last_value !== null) await client.query('select setval($1::regclass, $2::bigint, true)', [qualified(s), s.last_value]);
      }

      const [me] = (await client.query<{ rolsuper: boolean; db: string }>('select rolsuper, current_database() as db from pg_roles where rolname = current_user')).rows;
      for (const p of storage) {
        const role = ident(p.role_name);
        const exists = (await client.query('select 1 from pg_roles where rolname = $1', [p.role_name])).rowCount! > 0;
        // As storage.ts's createProjectStorage does on a server: the role logs in itself for the SQL sandbox.
        const attributes = `LOGIN PASSWORD '${p.role_password.replace(/'/g, "''")}' NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS`;
        await client.query(exists ? `ALTER ROLE ${role} ${attributes}` : `CREATE ROLE ${role} ${attributes}`);
        if (!me?.rolsuper) await client.query(`GRANT ${role} TO CURRENT_USER`);
        await client.query(`GRANT CONNECT ON DATABASE ${ident(String(me?.db))} TO ${role}`);
        const hex = p.project_id.replace(/-/g, '').toLowerCase();
        for (const env of ['design', 'production']) {
          const s = ident(`p_${hex}_${env}`);
          await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
          await client.query(`REVOKE ALL ON SCHEMA ${s} FROM PUBLIC`);
          await client.query(`GRANT USAGE, CREATE ON SCHEMA ${s} TO ${role}`);
        }
      }
      const roles = new Set(storage.map((p) => p.role_name));
      for (const t of projectTables) {
        if (!storage.some((p) => t.schema.startsWith(`p_${p.project_id.replace(/-/g, '').toLowerCase()}_`))) {
          throw new Error(`${t.schema} belongs to no project in project_storage; nothing was copied`);
        }
        const defs = t.columns.map((c) => `${ident(c.name)} ${c.type}${c.notNull ? ' NOT NULL' : ''}`);
        await client.query(`CREATE TABLE ${qualified(t)} (${defs.join(', ')})`);
        // The project's role owns its tables (the sandbox reads and replaces them as that role).
        if (roles.has(t.owner)) await client.query(`ALTER TABLE ${qualified(t)} OWNER TO ${ident(t.owner)}`);
        const copied = await copyRows(source, client, t);
        rows += copied;
        log(`${t.schema}.${t.name}: ${copied} rows`);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
    return { tables: appTables.length + projectTables.length, rows, projects: storage.length };
  } finally {
    await target.close();
    await source.close();
  }
}

/** Copies the home's PGlite database into `targetUrl`, then moves `pgdata` aside. */
export async function migrateHome(opts: { home: string; targetUrl: string; log?: (line: string) => void }): Promise<MigrateHomeResult> {
  const dir = legacyPgliteDir(opts.home);
  if (!dir) throw new Error(`${path.join(opts.home, LEGACY_PGLITE_DIR)} holds no PGlite database: nothing to migrate`);
  const result = await copyPgliteDatabase({ pgliteDir: dir, targetUrl: opts.targetUrl, log: opts.log });
  const movedTo = `${dir}.migrated-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  renameSync(dir, movedTo);
  return { ...result, movedTo };
}
