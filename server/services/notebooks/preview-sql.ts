import type { Db } from '@/db/client';
import { outputTypeOfOid, jsonCell, profileRelation } from '../datasets/column-profile';
import { pgTypeOf } from '../../domain/column-types';
import { ident } from '../datasets/storage';
import { withUserSelect, type SandboxFailure, type SandboxScope, type WrappedRun } from '../datasets/sql-sandbox';
import type { CellOutput, ColumnProfile } from './output-types';

export type SqlPreview = {
  ok: true;
  columns: CellOutput['columns'];
  rows: unknown[][];
  totalRows: number;
  profile: ColumnProfile[] | null;
};

/**
 * A user's SELECT previewed in the project's sandbox: its first `limit` rows, the total row count of
 * the full result and (with `profile`) the column profiles, all in one sandbox session. Nothing is
 * written. The count comes from the profile's first pass when there is one, else from a count(*)
 * that runs only when the page is full.
 */
export async function previewSql(
  db: Db,
  scope: SandboxScope,
  opts: { sql: string; limit: number; profile: boolean; timeoutMs: number; signal?: AbortSignal },
): Promise<SqlPreview | SandboxFailure> {
  const limit = Math.max(0, Math.floor(opts.limit));
  return withUserSelect(db, scope, { sql: opts.sql, timeoutMs: opts.timeoutMs, ...(opts.signal ? { signal: opts.signal } : {}) }, async (run, raw) => {
    // One row more than shown: a page that is not full is the whole result, with no count to run.
    const page = await run('SELECT * FROM (\n', `\n) AS q LIMIT ${limit + 1}`);
    const complete = page.rows.length <= limit;
    const columns = page.fields.map((name, i) => ({ name, type: outputTypeOfOid(page.types?.[i]) }));
    const duplicate = columns.find((c, i) => columns.findIndex((d) => d.name === c.name) !== i);
    if (duplicate) return duplicateColumn(duplicate.name);
    const rows = page.rows.slice(0, limit).map((r) => columns.map((c) => jsonCell(c.type, r[c.name])));
    if (opts.profile && complete) {
      // The page is the whole result: profile it from the rows in hand instead of running the query again.
      const json = JSON.stringify(page.rows.length === 0 ? [] : rows.map((r) => Object.fromEntries(columns.map((c, i) => [c.name, r[i]]))));
      const rel = `SELECT * FROM jsonb_to_recordset($1::jsonb) AS q(${columns.map((c) => `${ident(c.name)} ${pgTypeOf[c.type]}`).join(', ') || 'none_ int'})`;
      const { profile } = await profileRelation((prefix, suffix) => raw(`${prefix}${rel}${suffix}`, [json]), columns, { knownRows: rows.length });
      return { ok: true as const, columns, rows, totalRows: rows.length, profile };
    }
    if (opts.profile) {
      // One scan of the full result gives its row count and the profiles.
      const { rowCount, profile } = await profileRelation(relationRun(run), columns);
      return { ok: true as const, columns, rows, totalRows: rowCount, profile };
    }
    const totalRows = complete ? rows.length : Number((await run('SELECT count(*) AS n FROM (\n', '\n) AS q')).rows[0]?.n ?? 0);
    return { ok: true as const, columns, rows, totalRows, profile: null };
  });
}

export function relationRun(run: WrappedRun) {
  return (prefix: string, suffix: string, params?: unknown[]) => run(prefix, suffix, params);
}

function duplicateColumn(name: string): SandboxFailure {
  return { ok: false, reason: 'sql-error', message: `the result has two columns named "${name}": give them distinct names (AS ...)` };
}
