import { Readable } from 'node:stream';
import type { z } from 'zod';
import { emitAudit } from '../audit/emit';
import { auditMetaOf, type ServiceCtx } from '../context';
import { queryError } from '../datasets/run-query';
import { copySelectCsv } from '../datasets/sql-sandbox';
import { invalid } from '../errors';
import { teamOfProject } from '../projects/project-team';
import { currentCell, sha256 } from './cell-source';
import type { CellRef } from './output-schemas';
import { withPythonResult } from './preview-python';
import { withTsResult } from './preview-ts';

/**
 * The full result of a cell (its current source, on the design data) as CSV, streamed. Audited
 * (`notebook.result_download`) like a dataset download: the whole result leaves the product.
 * A ts cell's result is its preview's (the first rows of each input), read whole before sending.
 */
export async function downloadCellResult({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof CellRef> }): Promise<Readable> {
  const { cell } = await currentCell(ctx, input);
  if (cell.kind !== 'sql' && cell.kind !== 'ts' && cell.kind !== 'python') throw invalid(`a ${cell.kind} cell has no result to download`, 'cellId');
  const scope = { projectId: input.projectId, environment: 'design' as const };
  const r =
    cell.kind === 'sql'
      ? await copySelectCsv(ctx.db, scope, { sql: cell.source })
      : await (cell.kind === 'ts' ? withTsResult : withPythonResult)(ctx.db, scope, { cellId: cell.id, source: cell.source, timeoutMs: 60_000 }, async (sql) => {
          const c = await copySelectCsv(ctx.db, scope, { sql });
          if (!c.ok) return c;
          const chunks: Buffer[] = [];
          for await (const chunk of c.stream) chunks.push(chunk as Buffer);
          return { ok: true as const, stream: Readable.from([Buffer.concat(chunks)]) };
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
