import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { z } from 'zod';
import { emitAudit } from '../audit/emit';
import { auditMetaOf, type ServiceCtx } from '../context';
import { queryError } from '../datasets/run-query';
import { copySelectCsv, type SandboxFailure } from '../datasets/sql-sandbox';
import { invalid } from '../errors';
import { teamOfProject } from '../projects/project-team';
import { currentCell, sha256 } from './cell-source';
import type { CellRef } from './output-schemas';
import { withPythonResult } from './preview-python';
import { withTsResult } from './preview-ts';
import { byRowKind, isRowCellKind } from '@/server/domain/cell-kinds';

/**
 * The full result of a cell (its current source, on the design data) as CSV, streamed. Audited
 * (`notebook.result_download`) like a dataset download: the whole result leaves the product.
 * A ts or python cell runs on every row of its inputs into a scratch table, streamed from while it exists.
 */
export async function downloadCellResult({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof CellRef> }): Promise<Readable> {
  const { cell } = await currentCell(ctx, input);
  if (!isRowCellKind(cell.kind)) throw invalid(`a ${cell.kind} cell has no result to download`, 'cellId');
  const scope = { projectId: input.projectId, environment: 'design' as const };
  const full = { cellId: cell.id, source: cell.source, timeoutMs: 60_000, inputLimit: null };
  const copy = (sql: string) => copySelectCsv(ctx.db, scope, { sql });
  const r = await byRowKind(cell.kind, {
    sql: () => copy(cell.source),
    ts: () => streamWhileHeld((fn) => withTsResult(ctx.db, scope, full, fn), copy),
    python: () => streamWhileHeld((fn) => withPythonResult(ctx.db, scope, full, fn), copy),
  });
  if (!r.ok) throw queryError(r, cell.source);
  const teamId = await teamOfProject(ctx.db, input.projectId);
  await ctx.db
    .transaction((tx) =>
    emitAudit(tx, auditMetaOf(ctx), {
      action: 'notebook.result_download',
      target: { type: 'notebook', id: input.notebookId },
      teamId,
      projectId: input.projectId,
      details: { cellId: cell.id, sourceSha256: sha256(cell.source) },
    }),
    )
    .catch((err: unknown) => {
      // No download without its audit event: the open COPY is dropped with the stream.
      r.stream.destroy();
      throw err;
    });
  return r.stream;
}

type Opened = { ok: true; stream: Readable } | SandboxFailure;

/**
 * Opens a stream from a result that exists only inside `hold` (a scratch table dropped when `fn`
 * settles): resolves with the stream as soon as it is open, and keeps `fn` pending until the stream
 * ends or is destroyed (a reader that leaves destroys it), so the table outlives the reading.
 */
function streamWhileHeld(hold: (fn: (sql: string) => Promise<SandboxFailure | null>) => Promise<SandboxFailure | null>, open: (sql: string) => Promise<Opened>): Promise<Opened> {
  return new Promise<Opened>((resolve, reject) => {
    let settled = false;
    hold(async (sql) => {
      const r = await open(sql);
      if (!r.ok) return r;
      settled = true;
      resolve(r);
      await finished(r.stream).catch(() => undefined);
      return null;
    }).then(
      (f) => {
        if (settled) return;
        if (f) resolve(f);
        else reject(new Error('the result was not opened'));
      },
      (err: unknown) => {
        if (!settled) reject(err instanceof Error ? err : new Error(String(err)));
        else console.warn('dropping a scratch result failed', err);
      },
    );
  });
}
