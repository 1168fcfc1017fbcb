import { Readable } from 'node:stream';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { Db } from '@/db/client';
import type { Environment } from '@/db/schema';
import { analyzeSelect, loadSqlParser } from '@/server/pipeline/sql';
import { driverOf, ensureProjectStorage, ident, roleNameOf, schemaNameOf, type ProjectStorage } from './storage';

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
 *    query_to_xml('select * from users', ...) reads everything: measured on Postgres 15 and on the
 *    single-session PGlite this replaced, where ts_rewrite(tsquery, text) was the way in.)
 * 3. Time: `SET LOCAL statement_timeout` cancels a runaway query; the transaction is ours.
 *
 * The embedded default is a real PostgreSQL server too (server/embedded-postgres.ts), so all three
 * layers hold in every mode.
 *
 * Residual: the catalogs (pg_class, pg_namespace, ...) stay readable by every role, so an
 * author can see the names of other schemas and tables, not their rows.
 */
export type SandboxScope = { projectId: string; environment: Environment };
export type SandboxFailure = {
  ok: false;
  reason: 'refused' | 'timeout' | 'permission-denied' | 'sql-error' | 'cancelled';
  message: string;
  /** Character index in the caller's SQL, when the database or parser pointed at one. */
  offset?: number;
};
export type SandboxQuery = (
  text: string,
  params?: unknown[],
) => Promise<{ rows: Record<string, unknown>[]; rowCount: number; fields: string[]; /** Postgres type oids of `fields`. */ types?: number[] }>;

export const DEFAULT_STATEMENT_TIMEOUT_MS = 5 * 60_000;

/** Options every sandboxed call takes. `signal` cancels the running statement (pg_cancel_backend). */
export type SandboxRunOptions = { timeoutMs?: number; signal?: AbortSignal };

/** Thrown inside a sandbox session when its signal aborted; reported as reason 'cancelled'. */
export class SandboxCancelled extends Error {
  constructor() {
    super('cancelled');
    this.name = 'SandboxCancelled';
  }
}

/** Builds `table` in the scope's schema from a user's SELECT (CREATE TABLE ... AS). */
export async function createTableFromSelect(db: Db, scope: SandboxScope, opts: { sql: string; table: string } & SandboxRunOptions): Promise<{ ok: true; rowCount: number } | SandboxFailure> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(opts.table)) throw new Error(`not a table name: ${opts.table}`);
  const prefix = `CREATE TABLE ${ident(schemaNameOf(scope.projectId, scope.environment))}.${ident(opts.table)} AS (\n`;
  const checked = await wrapUserSelect(opts.sql, prefix, '\n)');
  if (!checked.ok) return checked;
  return runChecked(db, scope, opts, checked, async (q) => {
    const created = await q(checked.text);
    return { ok: true as const, rowCount: created.rowCount };
  });
}

/** Runs a user's SELECT and returns at most `limit` rows (previews, custom checks). */
export async function runSandboxedSelect(
  db: Db,
  scope: SandboxScope,
  opts: { sql: string; limit: number } & SandboxRunOptions,
): Promise<{ ok: true; rows: Record<string, unknown>[]; columns: string[] } | SandboxFailure> {
  const limit = Math.max(0, Math.floor(opts.limit));
  const checked = await wrapUserSelect(opts.sql, 'SELECT * FROM (\n', `\n) AS q LIMIT ${limit}`);
  if (!checked.ok) return checked;
  return runChecked(db, scope, opts, checked, async (q) => {
    const r = await q(checked.text);
    return { ok: true as const, rows: r.rows, columns: r.fields };
  });
}

/**
 * Counts the rows a user's SELECT returns (a custom check: the offending rows). `shadows` maps a
 * dataset name to a table of the same schema that the statement reads in its place (a build's
 * staging table), by wrapping it in a CTE of that name, so the user writes the dataset's own name.
 */
export async function countSandboxedSelect(
  db: Db,
  scope: SandboxScope,
  opts: { sql: string; shadows?: Record<string, string> } & SandboxRunOptions,
): Promise<{ ok: true; count: number } | SandboxFailure> {
  const shadows = Object.entries(opts.shadows ?? {});
  for (const [, table] of shadows) if (!/^[a-z_][a-z0-9_]{0,62}$/.test(table)) throw new Error(`not a table name: ${table}`);
  const withClause = shadows.length ? `WITH ${shadows.map(([name, table]) => `${ident(name)} AS (SELECT * FROM ${ident(table)})`).join(', ')} ` : '';
  const checked = await wrapUserSelect(opts.sql, `${withClause}SELECT count(*) AS n FROM (\n`, '\n) AS q');
  if (!checked.ok) return checked;
  return runChecked(db, scope, opts, checked, async (q) => {
    const r = await q(checked.text);
    return { ok: true as const, count: Number(r.rows[0]?.n ?? 0) };
  });
}

/**
 * Runs several wrappings of one user SELECT in one sandbox session (a preview: its rows, its count,
 * its profile). The text is checked once; `run(prefix, suffix)` wraps the statement, re-checks that
 * the wrapper is still one statement, and runs it. A database error is mapped back to an offset in
 * the user's SQL whichever wrapping failed.
 */
export type WrappedRun = (prefix: string, suffix: string, params?: unknown[]) => ReturnType<SandboxQuery>;
export async function withUserSelect<T>(db: Db, scope: SandboxScope, opts: { sql: string } & SandboxRunOptions, fn: (run: WrappedRun, raw: SandboxQuery) => Promise<T>): Promise<T | SandboxFailure> {
  const first = await wrapUserSelect(opts.sql, 'SELECT * FROM (\n', '\n) AS q LIMIT 0');
  if (!first.ok) return first;
  const statement = first.text.slice(first.prefixLength, first.text.length - '\n) AS q LIMIT 0'.length);
  let current: Checked = first;
  return runChecked(
    db,
    scope,
    opts,
    () => current,
    (q) =>
      fn(
        async (prefix, suffix, params) => {
          const text = `${prefix}${statement}${suffix}`;
          if (!analyzeWrapped(text)) throw new WrapRefused();
          current = { ok: true, text, userOffset: first.userOffset, prefixLength: prefix.length };
          return q(text, params);
        },
        // Our own statements in the same session (no user text in them): errors are not mapped.
        async (text, params) => {
          current = { ok: true, text, userOffset: 0, prefixLength: Number.MAX_SAFE_INTEGER };
          return q(text, params);
        },
      ),
  );
}

class WrapRefused extends Error {
  constructor() {
    super('the SQL could not be wrapped as a single statement');
  }
}

/**
 * The full result of a user's SELECT as CSV with a header line, streamed: `COPY (...) TO STDOUT` in
 * the sandbox session, so rows flow from Postgres to the caller without being held here. Resolves
 * once the first bytes arrived (an error in the statement is a SandboxFailure, not a broken stream);
 * the session commits when the stream ends and is dropped if the reader goes away early.
 */
export async function copySelectCsv(db: Db, scope: SandboxScope, opts: { sql: string } & SandboxRunOptions): Promise<{ ok: true; stream: Readable } | SandboxFailure> {
  const checked = await wrapUserSelect(opts.sql, 'COPY (SELECT * FROM (\n', '\n) AS q) TO STDOUT WITH (FORMAT csv, HEADER true)');
  if (!checked.ok) return checked;
  const timeout = opts.timeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  const driver = driverOf(db);
  const storage = await ensureProjectStorage(db, scope.projectId);
  const client = await sandboxPool(driver.pool, storage).connect();
  let done = false;
  const finish = (err?: Error) => {
    if (done) return;
    done = true;
    client.release(err);
  };
  const chunks = (async function* () {
    try {
      await client.query('BEGIN');
      await client.query(`SET LOCAL search_path = ${ident(schemaNameOf(scope.projectId, scope.environment))}`);
      await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.floor(timeout))}`);
      await client.query(`SET LOCAL timezone = 'UTC'`);
      for await (const chunk of client.query(copyTo(checked.text))) yield chunk as Buffer;
      await client.query('COMMIT');
      finish();
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      finish(err instanceof Error ? err : new Error(String(err)));
      throw err;
    } finally {
      // The reader left before the end: the connection (and the COPY still running on it) is dropped.
      finish(new Error('the CSV reader went away'));
    }
  })();
  let first: IteratorResult<Buffer>;
  try {
    first = await chunks.next();
  } catch (err) {
    return sandboxFailure(err, timeout, checked);
  }
  const rest = async function* () {
    if (!first.done) yield first.value;
    yield* chunks;
  };
  return { ok: true, stream: Readable.from(rest(), { objectMode: false }) };
}

/** RFC 4180: fields with a comma, quote or line break are quoted, quotes doubled; NULL is empty. */
export function csvOf(columns: string[], rows: Record<string, unknown>[]): string {
  const field = (v: unknown) => {
    if (v === null || v === undefined) return '';
    const s = v instanceof Date ? v.toISOString() : typeof v === 'object' ? JSON.stringify(v) : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [columns.map(field).join(','), ...rows.map((r) => columns.map((c) => field(r[c])).join(','))].join('\n') + '\n';
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

async function runChecked<T>(db: Db, scope: SandboxScope, opts: SandboxRunOptions, checked: Checked | (() => Checked), fn: (q: SandboxQuery) => Promise<T>): Promise<T | SandboxFailure> {
  const timeout = opts.timeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  try {
    return await withSandboxSession(db, scope, { timeoutMs: timeout, ...(opts.signal ? { signal: opts.signal } : {}) }, fn);
  } catch (err) {
    // A cancelled statement reports 57014 like a statement timeout: the signal tells them apart.
    if (err instanceof SandboxCancelled || opts.signal?.aborted) return { ok: false, reason: 'cancelled', message: 'the query was cancelled' };
    if (err instanceof WrapRefused) return { ok: false, reason: 'refused', message: err.message, offset: 0 };
    return sandboxFailure(err, timeout, typeof checked === 'function' ? checked() : checked);
  }
}

function sandboxFailure(err: unknown, timeoutMs: number, checked: Checked): SandboxFailure {
  const e = err as { code?: unknown; message?: unknown; position?: unknown };
  // Only the database's verdict on the statement is the user's: a lost connection (ECONNRESET, class
  // 08), a server shutting down (57P0x) or a serialization conflict (40xxx) is transient: rethrown.
  if (typeof e.code !== 'string' || typeof e.message !== 'string' || !/^[0-9A-Z]{5}$/.test(e.code) || /^(08|40|57P)/.test(e.code)) throw err;
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
export async function withSandboxSession<T>(
  db: Db,
  scope: SandboxScope,
  opts: { timeoutMs: number; signal?: AbortSignal },
  /** `client` is the session's own connection, for COPY streams (Python cells' inputs and outputs). */
  fn: (q: SandboxQuery, client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const storage = await ensureProjectStorage(db, scope.projectId);
  if (opts.signal?.aborted) throw new SandboxCancelled();
  return inSession(db, scope, opts, sandboxPool(driverOf(db).pool, storage).connect(), fn);
}

/**
 * A second sandbox session beside one the caller holds (a build step's metrics passes side by
 * side), or null when the project's pool has no connection free right now. It never waits for one:
 * two steps each holding a session and waiting for a second would wait for ever.
 */
export function trySpareSandboxSession<T>(db: Db, scope: SandboxScope, opts: { timeoutMs: number; signal?: AbortSignal }, fn: (q: SandboxQuery) => Promise<T>): Promise<T> | null {
  const pool = pools.get(driverOf(db).pool)?.get(roleNameOf(scope.projectId));
  if (!pool || pool.ending || opts.signal?.aborted || pool.waitingCount > 0 || (pool.idleCount === 0 && pool.totalCount >= SESSIONS_PER_PROJECT)) return null;
  // connect() takes the free slot synchronously, before anyone else can.
  return inSession(db, scope, opts, pool.connect(), fn);
}

async function inSession<T>(
  db: Db,
  scope: SandboxScope,
  opts: { timeoutMs: number; signal?: AbortSignal },
  connecting: Promise<pg.PoolClient>,
  fn: (q: SandboxQuery, client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const schemaName = ident(schemaNameOf(scope.projectId, scope.environment));
  const timeout = Math.max(1, Math.floor(opts.timeoutMs));
  const signal = opts.signal;
  const notCancelled = () => {
    if (signal?.aborted) throw new SandboxCancelled();
  };
  const appPool = driverOf(db).pool;
  const client = await connecting;
  let failed: Error | undefined;
  let onAbort: (() => void) | undefined;
  try {
    // One round trip: a build step opens two sessions, and on a busy server each trip is a wait.
    const setup = await client.query(`BEGIN; SET LOCAL search_path = ${schemaName}; SET LOCAL statement_timeout = ${timeout}; SET LOCAL timezone = 'UTC'; SELECT pg_backend_pid() AS pid`);
    if (signal) {
      // The application's session cancels the sandbox session's statement: it is a member of the
      // project role (or superuser), which pg_cancel_backend requires.
      const results = (Array.isArray(setup) ? setup : [setup]) as pg.QueryResult[];
      const pid = Number(results[results.length - 1]?.rows[0]?.pid);
      onAbort = () => void appPool.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => {});
      signal.addEventListener('abort', onAbort, { once: true });
    }
    const result = await fn(async (text, params) => {
      notCancelled();
      const r = await client.query(text, params as unknown[]);
      const fields = r.fields ?? [];
      return { rows: r.rows as Record<string, unknown>[], rowCount: r.rowCount ?? 0, fields: fields.map((f) => f.name), types: fields.map((f) => f.dataTypeID) };
    }, client);
    notCancelled();
    await client.query('COMMIT');
    return result;
  } catch (err) {
    failed = err instanceof Error ? err : new Error(String(err));
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    // After a cancellation the connection is not reused: a pg_cancel_backend still in flight could
    // land on the next session's statement.
    const discard = signal?.aborted || (failed && !(failed as { code?: string }).code && !(failed instanceof SandboxCancelled));
    client.release(discard ? (failed ?? new Error('cancelled')) : undefined);
  }
}

const pools = new WeakMap<pg.Pool, Map<string, pg.Pool>>();
const SESSIONS_PER_PROJECT = 2;

/** One small pool per project role, logging in as that role on the application's server. */
function sandboxPool(appPool: pg.Pool, storage: ProjectStorage): pg.Pool {
  let byRole = pools.get(appPool);
  if (!byRole) pools.set(appPool, (byRole = new Map()));
  let pool = byRole.get(storage.roleName);
  if (!pool) {
    const o = (appPool as unknown as { options: pg.PoolConfig }).options;
    const base: pg.PoolConfig = o.connectionString
      ? connectionAs(o.connectionString, storage)
      : { host: o.host, port: o.port, database: o.database, ssl: o.ssl, user: storage.roleName, password: storage.rolePassword };
    pool = new pg.Pool({
      ...base,
      max: SESSIONS_PER_PROJECT,
      idleTimeoutMillis: 10_000,
      allowExitOnIdle: true,
      // When our side of a session dies (a killed worker), the server stops its statement within
      // seconds instead of running it to the end (Postgres 14+).
      options: '-c client_connection_check_interval=2000',
    });
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
  const appPool = driverOf(db).pool;
  const byRole = pools.get(appPool);
  if (!byRole) return;
  pools.delete(appPool);
  await Promise.all([...byRole.values()].map((p) => p.end().catch(() => {})));
}
