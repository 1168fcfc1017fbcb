import type { z } from 'zod';
import type { ServiceCtx } from '../context';
import { invalid } from '../errors';
import { lineColumnOf } from '../notebooks/cell-source';
import type { QueryResult } from '../notebooks/output-types';
import { jsonCell, outputTypeOfOid } from './column-profile';
import type { ProjectQueryBody } from './query-schemas';
import { withUserSelect, type SandboxFailure } from './sql-sandbox';
import type { Environment } from '@/db/schema';

export const QUERY_TIMEOUT_MS = 30_000;

/**
 * A scratch query over REST (scripts, CI, BI tools): one SELECT in the project's sandbox for the
 * environment, at most `limit` rows. Not audited: it reads at most 10,000 rows, changes nothing, and
 * BI tools poll; the key's last use is recorded. Bulk exports (the CSV downloads) are audited.
 */
export async function runProjectQuery({
  ctx,
  input,
  timeoutMs,
}: {
  ctx: ServiceCtx;
  input: z.output<typeof ProjectQueryBody> & { projectId: string; environment: Environment };
  timeoutMs?: number;
}): Promise<QueryResult> {
  const started = performance.now();
  const r = await withUserSelect(ctx.db, { projectId: input.projectId, environment: input.environment }, { sql: input.sql, timeoutMs: timeoutMs ?? QUERY_TIMEOUT_MS }, async (run) => {
    const page = await run('SELECT * FROM (\n', `\n) AS q LIMIT ${input.limit + 1}`);
    const columns = page.fields.map((name, i) => ({ name, type: outputTypeOfOid(page.types?.[i]) }));
    // Rows are arrays in column order, so duplicate names would lose values: refuse them.
    const dup = columns.find((c, i) => columns.findIndex((d) => d.name === c.name) !== i);
    if (dup) return { ok: false as const, reason: 'sql-error' as const, message: `the result has two columns named "${dup.name}": give them distinct names (AS ...)` };
    const rows = page.rows.slice(0, input.limit).map((row) => columns.map((c) => jsonCell(c.type, row[c.name])));
    return { ok: true as const, columns, rows, truncated: page.rows.length > input.limit };
  });
  if (!r.ok) throw queryError(r, input.sql);
  return { columns: r.columns, rows: r.rows, truncated: r.truncated, elapsedMs: Math.round(performance.now() - started) };
}

/** A refused or failing query is the caller's mistake: 400 naming the line and column of `sql`. */
export function queryError(f: SandboxFailure, sql: string) {
  const at = f.offset === undefined ? '' : (({ line, column }) => ` (line ${line}, column ${column})`)(lineColumnOf(sql, f.offset));
  return invalid(`sql: ${f.message}${at}`, 'sql');
}
