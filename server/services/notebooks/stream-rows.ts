import { PassThrough, type Readable } from 'node:stream';
import { and, eq } from 'drizzle-orm';
import type { z } from 'zod';
import { notebookCellOutputs } from '@/db/schema';
import type { ServiceCtx } from '../context';
import { jsonCell, outputTypeOfOid } from '../datasets/column-profile';
import { queryError } from '../datasets/run-query';
import { withUserSelect, type SandboxFailure } from '../datasets/sql-sandbox';
import { conflict, invalid, notFound } from '../errors';
import { currentCell, sha256 } from './cell-source';
import type { CellRowsInput } from './output-schemas';
import type { CellOutput } from './output-types';
import { withPythonResult } from './preview-python';
import { withTsResult } from './preview-ts';
import { PREVIEW_TIMEOUT_MS } from './run-cell';
import { byRowKind, isRowCellKind } from '@/server/domain/cell-kinds';

/** The most rows the browser's grid asks for: more is a Download CSV. */
export const MAX_STREAMED_ROWS = 100_000;
/** Rows per FETCH from the cursor: one NDJSON chunk. */
const BATCH = 5_000;
/** A reader that stalls keeps a sandbox session: past this the stream ends with an error line. */
const MAX_STREAM_MS = 120_000;

/** One line of the NDJSON stream: the columns first, then rows (arrays in column order), then `done` or `error`. */
export type CellRowsLine = { columns: CellOutput['columns'] } | unknown[] | { done: true; rows: number } | { error: string };

/**
 * Up to `limit` rows of a SQL, ts or python cell's full result (its current source, on the design
 * data; a ts or python cell runs on every row of its inputs into a scratch table first, kept until the
 * stream ends), as NDJSON
 * streamed from a cursor in the project's sandbox: the server holds one batch at a time and the grid
 * paints the first rows while the rest arrive. Values are encoded as in previews. With `outputId`,
 * refuses when the cell changed since that output (the rows would not be the output's). Not audited,
 * like previews and chart data: it is bounded and shown in the product (Download CSV is audited).
 */
export async function streamCellRows({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof CellRowsInput> }): Promise<Readable> {
  const { cell } = await currentCell(ctx, input);
  if (!isRowCellKind(cell.kind)) throw invalid(`a ${cell.kind} cell has no rows: only sql, ts and python cells stream their result`, 'cellId');
  if (input.outputId) {
    const [row] = await ctx.db
      .select({ sourceHash: notebookCellOutputs.sourceHash })
      .from(notebookCellOutputs)
      .where(and(eq(notebookCellOutputs.id, input.outputId), eq(notebookCellOutputs.notebookId, input.notebookId), eq(notebookCellOutputs.cellId, input.cellId)));
    if (!row) throw notFound('output');
    if (row.sourceHash !== sha256(cell.source)) throw conflict('the cell changed since this output: run it again to see its rows', 'outputId');
  }
  const scope = { projectId: input.projectId, environment: 'design' as const };
  const out = new PassThrough();
  const started = Date.now();
  const line = (v: CellRowsLine) => `${JSON.stringify(v)}\n`;
  // Resolves at the first batch (or the failure before it): errors up to there are a 400, later ones an `error` line.
  let announce!: (r: { ok: true } | SandboxFailure) => void;
  let fail!: (err: unknown) => void;
  const first = new Promise<{ ok: true } | SandboxFailure>((resolve, reject) => {
    announce = resolve;
    fail = reject;
  });
  let announced = false;
  const write = async (text: string): Promise<void> => {
    if (out.write(text)) return;
    await new Promise<void>((resolve) => {
      // A reader that went away closes the stream instead of draining it; one that stalls is cut off
      // at the stream's deadline (the session goes back to the pool either way).
      const stalled = setTimeout(() => out.destroy(), Math.max(0, started + MAX_STREAM_MS - Date.now()));
      const done = () => {
        clearTimeout(stalled);
        out.off('drain', done);
        out.off('close', done);
        resolve();
      };
      out.once('drain', done);
      out.once('close', done);
    });
  };

  const select = (sql: string) => withUserSelect(ctx.db, scope, { sql, timeoutMs: PREVIEW_TIMEOUT_MS }, async (run, raw): Promise<SandboxFailure | null> => {
    await run('DECLARE sb_rows NO SCROLL CURSOR FOR SELECT * FROM (\n', `\n) AS q LIMIT ${Math.floor(input.limit)}`);
    let batch = await raw(`FETCH ${BATCH} FROM sb_rows`);
    const columns = batch.fields.map((name, i) => ({ name, type: outputTypeOfOid(batch.types?.[i]) }));
    const duplicate = columns.find((c, i) => columns.findIndex((d) => d.name === c.name) !== i);
    if (duplicate) return { ok: false, reason: 'sql-error', message: `the result has two columns named "${duplicate.name}": give them distinct names (AS ...)` };
    announced = true;
    announce({ ok: true });
    await write(line({ columns }));
    let sent = 0;
    while (batch.rows.length > 0) {
      await write(batch.rows.map((r) => line(columns.map((c) => jsonCell(c.type, r[c.name])))).join(''));
      sent += batch.rows.length;
      if (out.destroyed) return null;
      if (Date.now() - started > MAX_STREAM_MS) {
        out.end(line({ error: `stopped after ${MAX_STREAM_MS / 1000} s with ${sent} rows sent` }));
        return null;
      }
      batch = await raw(`FETCH ${BATCH} FROM sb_rows`);
    }
    if (!out.destroyed) out.end(line({ done: true, rows: sent }));
    return null;
  });
  const full = { cellId: cell.id, source: cell.source, timeoutMs: PREVIEW_TIMEOUT_MS, inputLimit: null };
  const job = byRowKind(cell.kind, {
    sql: () => select(cell.source),
    ts: () => withTsResult(ctx.db, scope, full, select),
    python: () => withPythonResult(ctx.db, scope, full, select),
  });
  job.then(
    (r) => {
      if (r === null) return;
      if (!announced) announce(r);
      else if (!out.destroyed) out.end(line({ error: r.message }));
    },
    (err: unknown) => {
      // Never an 'error' event on the stream: nobody may be listening yet, and an unheard one ends the process.
      if (!announced) {
        fail(err);
        out.destroy();
      } else {
        console.warn('cell rows stream failed', err);
        if (!out.destroyed) out.end(line({ error: 'the query stopped unexpectedly; try again' }));
      }
    },
  );
  const r = await first;
  if (!r.ok) throw queryError(r, cell.source);
  return out;
}
