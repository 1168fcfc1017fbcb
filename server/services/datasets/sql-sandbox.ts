import pg from 'pg';
import type { Db } from '@/db/client';
import type { Environment } from '@/db/schema';
import { analyzeSelect, loadSqlParser } from '@/server/pipeline/sql';
import { driverOf, ensureProjectStorage, ident, schemaNameOf, type ProjectStorage } from './storage';

/**
 * Runs users' SQL against a project's data and nothing else.
 *
 * Threat model: a cell's author may write any text. They must not read or change the application's
 * tables (users, sessions, audit_events, ...) or another project's schemas, change their role or
 * search_path to get there, or hold the database for ever.
 *
 * 1. Text: the input must parse (libpg-query) as exactly one SELECT: no DDL, DML, SET/RESET, data-
 *    modifying CTEs, SELECT INTO, row locks, or functions that change the session or run SQL from a
 *    string (set_config, query_to_xml, ...). We wrap the statement ourselves (CREATE TABLE ... AS or
 *    a LIMITed subquery) and re-parse the result to be sure it is still one statement.
 * 2. Privileges (Postgres server): the statement runs in a session whose *session user* is the
 *    project's own LOGIN role, which is not superuser and is a member of no other role. `SET ROLE`,
 *    `RESET ROLE` and `set_config('role', ...)` can only ever land on that same role, and it has
 *    USAGE/CREATE on its project's schemas only: the application's tables and other projects'
 *    schemas answer "permission denied" whatever the search_path says. (With a superuser session and
 *    `SET LOCAL ROLE`, a single SELECT calling set_config('role', 'postgres', true) and then
 *    query_to_xml('select * from users', ...) reads everything: measured on Postgres 15 and PGlite.)
 * 3. Time: `SET LOCAL statement_timeout` cancels a runaway query; the transaction is ours.
 *
 * PGlite (the embedded single-user default) has one session whose user is a superuser, no logins and
 * no working statement_timeout (measured: pg_sleep(3) runs to the end). There the boundary is layer 1
 * plus `SET LOCAL ROLE` to the project role: privileges hold for what the parser lets through, but a
 * runaway query cannot be cancelled. Run a Postgres server where authors are not trusted.
 *
 * Residual, on both: the catalogs (pg_class, pg_namespace, ...) stay readable by every role, so an
 * author can see the names of other schemas and tables, not their rows.
 */
export type SandboxScope = { projectId: string; environment: Environment };
export type SandboxFailure = {
  ok: false;
  reason: 'refused' | 'timeout' | 'permission-denied' | 'sql-error';
  message: string;
  /** Character index in the caller's SQL, when the database or parser pointed at one. */
  offset?: number;
};
export type SandboxQuery = (text: string, params?: unknown[]) => Promise<{ rows: Record<string, unknown>[]; rowCount: number; fields: string[] }>;

export const DEFAULT_STATEMENT_TIMEOUT_MS = 5 * 60_000;

/** Builds `table` in the scope's schema from a user's SELECT (CREATE TABLE ... AS). */
export async function createTableFromSelect(
  db: Db,
  scope: SandboxScope,
  opts: { sql: string; table: string; timeoutMs?: number },
): Promise<{ ok: true; rowCount: number } | SandboxFailure> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(opts.table)) throw new Error(`not a table name: ${opts.table}`);
  const prefix = `CREATE TABLE ${ident(schemaNameOf(scope.projectId, scope.environment))}.${ident(opts.table)} AS (\n`;
  const checked = await wrapUserSelect(opts.sql, prefix, '\n)');
  if (!checked.ok) return checked;
  const table = `${ident(schemaNameOf(scope.projectId, scope.environment))}.${ident(opts.table)}`;
  return runChecked(db, scope, opts.timeoutMs, checked, async (q) => {
    const created = await q(checked.text);
    // PGlite reports no row count for CREATE TABLE AS.
    const rowCount = created.rowCount > 0 ? created.rowCount : Number((await q(`SELECT count(*) AS n FROM ${table}`)).rows[0]?.n ?? 0);
    return { ok: true as const, rowCount };
  });
}

/** Runs a user's SELECT and returns at most `limit` rows (previews, custom checks). */
export async function runSandboxedSelect(
  db: Db,
  scope: SandboxScope,
  opts: { sql: string; limit: number; timeoutMs?: number },
): Promise<{ ok: true; rows: Record<string, unknown>[]; columns: string[] } | SandboxFailure> {
  const limit = Math.max(0, Math.floor(opts.limit));
  const checked = await wrapUserSelect(opts.sql, 'SELECT * FROM (\n', `\n) AS q LIMIT ${limit}`);
  if (!checked.ok) return checked;
  return runChecked(db, scope, opts.timeoutMs, checked, async (q) => {
    const r = await q(checked.text);
    return { ok: true as const, rows: r.rows, columns: r.fields };
  });
}

type Checked = { ok: true; text: string; userOffset: number; prefixLength: number };

async function wrapUserSelect(sql: string, prefix: string, suffix: string): Promise<Checked | SandboxFailure> {
  await loadSqlParser();
  const analysis = analyzeSelect(sql);
  const problem = analysis.problems[0];
  if (problem || analysis.statement === null) {
    return { ok: false, reason: 'refused', message: problem?.message ?? 'not a single SELECT', offset: problem?.offset ?? 0 };
  }
  const text = `${prefix}${analysis.statement}${suffix}`;
  // The wrapper must still be one statement: nothing in the user's text may have closed it early.
  const wrapped = analyzeWrapped(text);
  if (!wrapped) return { ok: false, reason: 'refused', message: 'the SQL could not be wrapped as a single statement', offset: 0 };
  return { ok: true, text, userOffset: analysis.statementOffset, prefixLength: prefix.length };
}

function analyzeWrapped(text: string): boolean {
  const a = analyzeSelect(text);
  // CREATE TABLE AS is "not a select" to the analyser; what matters is one statement, parsed whole.
  return !a.problems.some((p) => p.code === 'multiple-statements' || p.code === 'sql-syntax' || p.code === 'empty-cell');
}

async function runChecked<T>(db: Db, scope: SandboxScope, timeoutMs: number | undefined, checked: Checked, fn: (q: SandboxQuery) => Promise<T>): Promise<T | SandboxFailure> {
  const timeout = timeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  try {
    return await withSandboxSession(db, scope, { timeoutMs: timeout }, fn);
  } catch (err) {
    return sandboxFailure(err, timeout, checked);
  }
}

function sandboxFailure(err: unknown, timeoutMs: number, checked: Checked): SandboxFailure {
  const e = err as { code?: unknown; message?: unknown; position?: unknown };
  if (typeof e.code !== 'string' || typeof e.message !== 'string') throw err;
  const position = Number(e.position);
  const offset = Number.isFinite(position) && position > checked.prefixLength ? position - 1 - checked.prefixLength + checked.userOffset : undefined;
  const at = offset === undefined ? {} : { offset };
  if (e.code === '57014') {
    return { ok: false, reason: 'timeout', message: `the query ran longer than ${formatMs(timeoutMs)} and was cancelled (statement timeout)` };
  }
  if (e.code === '42501') return { ok: false, reason: 'permission-denied', message: `${e.message}: cells can only read this project's datasets`, ...at };
  return { ok: false, reason: 'sql-error', message: e.message, ...at };
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`;
}

/**
 * A transaction in the project's sandbox: the session described above, search_path set to the
 * scope's schema, statement_timeout set. Exported for the build and for tests that try raw escapes;
 * it does not check the text it runs, the role does.
 */
export async function withSandboxSession<T>(db: Db, scope: SandboxScope, opts: { timeoutMs: number }, fn: (q: SandboxQuery) => Promise<T>): Promise<T> {
  const storage = await ensureProjectStorage(db, scope.projectId);
  const schemaName = ident(schemaNameOf(scope.projectId, scope.environment));
  const timeout = Math.max(1, Math.floor(opts.timeoutMs));
  const driver = driverOf(db);
  if (driver.kind === 'postgres') {
    const client = await sandboxPool(driver.pool, storage).connect();
    let failed: Error | undefined;
    try {
      await client.query('BEGIN');
      await client.query(`SET LOCAL search_path = ${schemaName}`);
      await client.query(`SET LOCAL statement_timeout = ${timeout}`);
      await client.query(`SET LOCAL timezone = 'UTC'`);
      const result = await fn(async (text, params) => {
        const r = await client.query(text, params as unknown[]);
        return { rows: r.rows as Record<string, unknown>[], rowCount: r.rowCount ?? 0, fields: (r.fields ?? []).map((f) => f.name) };
      });
      await client.query('COMMIT');
      return result;
    } catch (err) {
      failed = err instanceof Error ? err : new Error(String(err));
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release(failed && !(failed as { code?: string }).code ? failed : undefined);
    }
  }
  return driver.client.transaction(async (ptx) => {
    await ptx.query(`SET LOCAL ROLE ${ident(storage.roleName)}`);
    await ptx.query(`SET LOCAL search_path = ${schemaName}`);
    await ptx.query(`SET LOCAL statement_timeout = ${timeout}`);
    await ptx.query(`SET LOCAL timezone = 'UTC'`);
    return fn(async (text, params) => {
      const r = await ptx.query<Record<string, unknown>>(text, params as unknown[]);
      return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length, fields: r.fields.map((f) => f.name) };
    });
  });
}

const pools = new WeakMap<pg.Pool, Map<string, pg.Pool>>();

/** One small pool per project role, logging in as that role on the application's server. */
function sandboxPool(appPool: pg.Pool, storage: ProjectStorage): pg.Pool {
  let byRole = pools.get(appPool);
  if (!byRole) pools.set(appPool, (byRole = new Map()));
  let pool = byRole.get(storage.roleName);
  if (!pool) {
    const o = (appPool as unknown as { options: pg.PoolConfig }).options;
    const base: pg.PoolConfig = o.connectionString ? connectionAs(o.connectionString, storage) : { host: o.host, port: o.port, database: o.database, ssl: o.ssl, user: storage.roleName, password: storage.rolePassword };
    pool = new pg.Pool({ ...base, max: 2, idleTimeoutMillis: 10_000, allowExitOnIdle: true });
    pool.on('error', () => {
      // An idle sandbox connection dropped (server restart, database dropped): the pool replaces it.
    });
    byRole.set(storage.roleName, pool);
  }
  return pool;
}

function connectionAs(connectionString: string, storage: ProjectStorage): pg.PoolConfig {
  const url = new URL(connectionString);
  url.username = encodeURIComponent(storage.roleName);
  url.password = encodeURIComponent(storage.rolePassword);
  return { connectionString: url.toString() };
}

/** Closes the sandbox pools opened for this database (shutdown, tests). */
export async function closeSandboxPools(db: Db): Promise<void> {
  const driver = driverOf(db);
  if (driver.kind !== 'postgres') return;
  const byRole = pools.get(driver.pool);
  if (!byRole) return;
  pools.delete(driver.pool);
  await Promise.all([...byRole.values()].map((p) => p.end().catch(() => {})));
}
