import { randomBytes } from 'node:crypto';
import type { Db } from '@/db/client';
import { buildPythonTable, PythonCellError } from '../cells/build-python-table';
import { withSandboxSession, type SandboxFailure, type SandboxScope } from '../datasets/sql-sandbox';
import { previewSql, type SqlPreview } from './preview-sql';

/** Rows of each input a Python preview reads: the cell runs on this sample, not on the whole input. */
export const PYTHON_PREVIEW_INPUT_ROWS = 10_000;

/**
 * Runs a Python cell the build's own way (bubblewrap, inputs and output as files through COPY) on
 * the first `inputLimit` rows of each input (default PYTHON_PREVIEW_INPUT_ROWS; null: every row, the
 * full result), into a scratch table of the design schema, hands `select * from <it>` to `fn` with
 * the inputs that were cut short, and drops the table once `fn` settles (a caller streaming from it
 * keeps `fn` pending until the stream ends). A cell's failure is a SandboxFailure whose offset is the
 * start of the line the traceback points at.
 */
export async function withPythonResult<T>(
  db: Db,
  scope: SandboxScope,
  opts: { cellId: string; source: string; timeoutMs: number; inputLimit?: number | null },
  fn: (sql: string, info: { cappedInputs: string[] }) => Promise<T | SandboxFailure>,
): Promise<T | SandboxFailure> {
  const table = `_sb_preview_${randomBytes(8).toString('hex')}`;
  try {
    const inputLimit = opts.inputLimit === undefined ? PYTHON_PREVIEW_INPUT_ROWS : opts.inputLimit;
    let cappedInputs: string[];
    try {
      ({ cappedInputs } = await buildPythonTable(db, scope, {
        cellId: opts.cellId,
        source: opts.source,
        table,
        timeoutMs: opts.timeoutMs,
        ...(inputLimit === null ? {} : { inputLimit }),
        limits: { timeoutMs: opts.timeoutMs },
      }));
    } catch (err) {
      if (err instanceof PythonCellError) {
        const message = `${err.detail}${err.traceback ? `\n${err.traceback.trimEnd()}` : ''}`;
        return { ok: false, reason: err.kind === 'timeout' ? 'timeout' : 'sql-error', message, ...(err.line ? { offset: offsetOfLine(opts.source, err.line) } : {}) };
      }
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

export function previewPython(
  db: Db,
  scope: SandboxScope,
  opts: { cellId: string; source: string; limit: number; profile: boolean; timeoutMs: number },
): Promise<(SqlPreview & { sampledInputs: string[] }) | SandboxFailure> {
  return withPythonResult(db, scope, opts, async (sql, { cappedInputs }) => {
    const r = await previewSql(db, scope, { sql, limit: opts.limit, profile: opts.profile, timeoutMs: opts.timeoutMs });
    return r.ok ? { ...r, sampledInputs: cappedInputs } : r;
  });
}

function offsetOfLine(source: string, line: number): number {
  let offset = 0;
  for (let i = 1; i < line; i++) {
    const next = source.indexOf('\n', offset);
    if (next < 0) break;
    offset = next + 1;
  }
  return offset;
}
