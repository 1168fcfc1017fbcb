import { createHash } from 'node:crypto';
import type { Db } from '@/db/client';
import type { DatasetFingerprint, DatasetFingerprintSpec } from '@/workflows/shared/scenario-watch';
import { runSandboxedSelect, SandboxCancelled, withSandboxSession } from '../../datasets/sql-sandbox';
import { ident, schemaNameOf } from '../../datasets/storage';

/** A fingerprint query should be cheap; one that is not is reported, not waited on for minutes. */
export const FINGERPRINT_TIMEOUT_MS = 60_000;
/** Rows of a custom fingerprint SELECT that count; a query returning more is a mistake, not a fingerprint. */
const MAX_CUSTOM_ROWS = 1_000;
/** Longer fingerprints are stored as their sha256, so run pages and workflow histories stay small. */
const MAX_FINGERPRINT_CHARS = 200;

/**
 * Fingerprints a PRODUCTION dataset for a dataset_change trigger, in the project's sandbox session
 * (its role, its schema, a statement timeout): `count=<n>` or `count=<n> max=<max(column)>`, or the
 * custom SELECT's rows serialised. A dataset that does not exist gives null (so its creation is a
 * change). A mistake of the scenario's author (no such column, a failing custom SQL, a timeout) is
 * returned as `problem` so the watcher skips the reading and goes on; a database that is down is
 * thrown, for the activity to retry.
 */
export async function datasetFingerprint(db: Db, spec: DatasetFingerprintSpec, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<DatasetFingerprint> {
  const scope = { projectId: spec.projectId, environment: 'production' as const };
  const timeoutMs = opts.timeoutMs ?? FINGERPRINT_TIMEOUT_MS;
  const table = `${ident(schemaNameOf(spec.projectId, 'production'))}.${ident(spec.dataset)}`;
  const session = { timeoutMs, ...(opts.signal ? { signal: opts.signal } : {}) };
  try {
    if (spec.sql) {
      const exists = await withSandboxSession(db, scope, session, async (q) => datasetExists(q, table));
      if (!exists) return { fingerprint: null };
      const result = await runSandboxedSelect(db, scope, { sql: spec.sql, limit: MAX_CUSTOM_ROWS + 1, ...session });
      if (!result.ok) {
        if (result.reason === 'cancelled') throw new SandboxCancelled();
        return { fingerprint: null, problem: `the fingerprint SQL failed (${result.reason}): ${result.message}` };
      }
      if (result.rows.length > MAX_CUSTOM_ROWS) return { fingerprint: null, problem: `the fingerprint SQL returned more than ${MAX_CUSTOM_ROWS} rows: aggregate it (count, max, a hash)` };
      return { fingerprint: compact(serialise(result.rows)) };
    }
    return await withSandboxSession(db, scope, session, async (q) => {
      if (!(await datasetExists(q, table))) return { fingerprint: null };
      const max = spec.column ? `, max(${ident(spec.column)})::text AS m` : '';
      const row = (await q(`SELECT count(*)::text AS n${max} FROM ${table}`)).rows[0] ?? {};
      const count = `count=${String(row.n ?? 0)}`;
      return { fingerprint: compact(spec.column ? `${count} max=${row.m === null || row.m === undefined ? 'null' : String(row.m)}` : count) };
    });
  } catch (err) {
    const problem = authorsMistake(err);
    if (problem) return { fingerprint: null, problem };
    throw err;
  }
}

type Query = Parameters<Parameters<typeof withSandboxSession>[3]>[0];

async function datasetExists(q: Query, table: string): Promise<boolean> {
  const r = await q('SELECT to_regclass($1) IS NOT NULL AS ok', [table]);
  return r.rows[0]?.ok === true;
}

/**
 * The database's verdict on the author's query (a missing column, a statement timeout), as opposed
 * to a lost connection (class 08), a server shutting down (57P) or a conflict (40): those are
 * transient and rethrown for Temporal to retry.
 */
function authorsMistake(err: unknown): string | null {
  if (err instanceof SandboxCancelled) return null;
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e.code !== 'string' || typeof e.message !== 'string' || !/^[0-9A-Z]{5}$/.test(e.code) || /^(08|40|53|57P)/.test(e.code)) return null;
  return e.code === '57014' ? 'the fingerprint query ran past its statement timeout' : `the fingerprint query failed: ${e.message}`;
}

function serialise(rows: Record<string, unknown>[]): string {
  return JSON.stringify(rows, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
}

function compact(fingerprint: string): string {
  return fingerprint.length <= MAX_FINGERPRINT_CHARS ? fingerprint : `sha256:${createHash('sha256').update(fingerprint).digest('hex')}`;
}
