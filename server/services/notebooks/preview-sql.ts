import type { Db } from '@/db/client';
import { outputTypeOfOid, jsonCell, profileRelation } from '../datasets/column-profile';
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
  return withUserSelect(db, scope, { sql: opts.sql, timeoutMs: opts.timeoutMs, ...(opts.signal ? { signal: opts.signal } : {}) }, async (run) => {
    const page = await run('SELECT * FROM (\n', `\n) AS q LIMIT ${limit}`);
    const columns = page.fields.map((name, i) => ({ name, type: outputTypeOfOid(page.types?.[i]) }));
    const duplicate = columns.find((c, i) => columns.findIndex((d) => d.name === c.name) !== i);
    if (duplicate) return duplicateColumn(duplicate.name);
    const rows = page.rows.map((r) => columns.map((c) => jsonCell(c.type, r[c.name])));
    if (opts.profile) {
      const { rowCount, profile } = await profileRelation(relationRun(run), columns);
      return { ok: true as const, columns, rows, totalRows: rowCount, profile };
    }
    const totalRows = rows.length < limit ? rows.length : Number((await run('SELECT count(*) AS n FROM (\n', '\n) AS q')).rows[0]?.n ?? 0);
    return { ok: true as const, columns, rows, totalRows, profile: null };
  });
}

export function relationRun(run: WrappedRun) {
  return (prefix: string, suffix: string, params?: unknown[]) => run(prefix, suffix, params);
}

function duplicateColumn(name: string): SandboxFailure {
  return { ok: false, reason: 'sql-error', message: `the result has two columns named "${name}": give them distinct names (AS ...)` };
}
