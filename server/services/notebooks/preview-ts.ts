import { randomBytes } from 'node:crypto';
import type { Db } from '@/db/client';
import { buildTsTable } from '../cells/build-ts-table';
import { DEFAULT_TS_CELL_LIMITS, TsCellError } from '../cells/ts-cell-sandbox';
import { withSandboxSession, type SandboxFailure, type SandboxScope } from '../datasets/sql-sandbox';
import { previewSql, type SqlPreview } from './preview-sql';

/** Rows of each input a ts preview reads: the cell runs on this sample, not on the whole input. */
export const TS_PREVIEW_INPUT_ROWS = 10_000;

/**
 * Runs a ts cell the build's own way (QuickJS with its limits, inputs through a cursor in the
 * project's sandbox) on the first `inputLimit` rows of each input (default TS_PREVIEW_INPUT_ROWS;
 * null: every row, the full result), into a scratch table of the design schema that no dataset row
 * names, hands `select * from <it>` to `fn` with the inputs that were cut short, and drops the table
 * once `fn` settles (a caller streaming from it keeps `fn` pending until the stream ends).
 */
export async function withTsResult<T>(
  db: Db,
  scope: SandboxScope,
  opts: { cellId: string; source: string; timeoutMs: number; inputLimit?: number | null },
  fn: (sql: string, info: { cappedInputs: string[] }) => Promise<T | SandboxFailure>,
): Promise<T | SandboxFailure> {
  const table = `_sb_preview_${randomBytes(8).toString('hex')}`;
  try {
    const inputLimit = opts.inputLimit === undefined ? TS_PREVIEW_INPUT_ROWS : opts.inputLimit;
    let cappedInputs: string[];
    try {
      ({ cappedInputs } = await buildTsTable(db, scope, { cellId: opts.cellId, source: opts.source, table, limits: DEFAULT_TS_CELL_LIMITS, timeoutMs: opts.timeoutMs, ...(inputLimit === null ? {} : { inputLimit }) }));
    } catch (err) {
      if (err instanceof TsCellError) return { ok: false, reason: 'sql-error', message: err.message.replace(/^ts cell [^:]+: /, '') };
      const e = err as { code?: unknown; message?: unknown };
      if (e.code === '57014') return { ok: false, reason: 'timeout', message: `the cell ran longer than ${opts.timeoutMs} ms and was cancelled (statement timeout)` };
      if (typeof e.code === 'string' && typeof e.message === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) return { ok: false, reason: 'sql-error', message: e.message };
      throw err;
    }
    return await fn(`select * from ${table}`, { cappedInputs });
  } finally {
    await withSandboxSession(db, scope, { timeoutMs: 10_000 }, (q) => q(`DROP TABLE IF EXISTS ${table}`)).catch(() => {});
  }
}

export function previewTs(
  db: Db,
  scope: SandboxScope,
  opts: { cellId: string; source: string; limit: number; profile: boolean; timeoutMs: number },
): Promise<(SqlPreview & { sampledInputs: string[] }) | SandboxFailure> {
  return withTsResult(db, scope, opts, async (sql, { cappedInputs }) => {
    const r = await previewSql(db, scope, { sql, limit: opts.limit, profile: opts.profile, timeoutMs: opts.timeoutMs });
    return r.ok ? { ...r, sampledInputs: cappedInputs } : r;
  });
}
