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
 * project's sandbox) on the first TS_PREVIEW_INPUT_ROWS rows of each input, into a scratch table of
 * the design schema that no dataset row names, hands `select * from <it>` to `fn`, and drops it.
 */
export async function withTsResult<T>(
  db: Db,
  scope: SandboxScope,
  opts: { cellId: string; source: string; timeoutMs: number },
  fn: (sql: string) => Promise<T | SandboxFailure>,
): Promise<T | SandboxFailure> {
  const table = `_sb_preview_${randomBytes(8).toString('hex')}`;
  try {
    try {
      await buildTsTable(db, scope, { cellId: opts.cellId, source: opts.source, table, limits: DEFAULT_TS_CELL_LIMITS, timeoutMs: opts.timeoutMs, inputLimit: TS_PREVIEW_INPUT_ROWS });
    } catch (err) {
      if (err instanceof TsCellError) return { ok: false, reason: 'sql-error', message: err.message.replace(/^ts cell [^:]+: /, '') };
      const e = err as { code?: unknown; message?: unknown };
      if (e.code === '57014') return { ok: false, reason: 'timeout', message: `the cell ran longer than ${opts.timeoutMs} ms and was cancelled (statement timeout)` };
      if (typeof e.code === 'string' && typeof e.message === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) return { ok: false, reason: 'sql-error', message: e.message };
      throw err;
    }
    return await fn(`select * from ${table}`);
  } finally {
    await withSandboxSession(db, scope, { timeoutMs: 10_000 }, (q) => q(`DROP TABLE IF EXISTS ${table}`)).catch(() => {});
  }
}

export function previewTs(
  db: Db,
  scope: SandboxScope,
  opts: { cellId: string; source: string; limit: number; profile: boolean; timeoutMs: number },
): Promise<SqlPreview | SandboxFailure> {
  return withTsResult(db, scope, opts, (sql) => previewSql(db, scope, { sql, limit: opts.limit, profile: opts.profile, timeoutMs: opts.timeoutMs }));
}
