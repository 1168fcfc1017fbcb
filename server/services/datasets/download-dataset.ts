import type { Readable } from 'node:stream';
import type { z } from 'zod';
import { emitAudit } from '../audit/emit';
import { auditMetaOf, type ServiceCtx } from '../context';
import { teamOfProject } from '../projects/project-team';
import { findDataset } from './find-dataset';
import { queryError } from './run-query';
import type { DatasetRef } from './schemas';
import { copySelectCsv } from './sql-sandbox';
import { ident } from './storage';

/**
 * A dataset's rows as CSV, streamed from Postgres through the project's sandbox. Audited
 * (`dataset.download`): a whole dataset leaving the product is worth a line in the trail, unlike a
 * preview of a page of it.
 */
export async function downloadDatasetCsv({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof DatasetRef> }): Promise<Readable> {
  const dataset = await findDataset(ctx.db, input);
  const sql = `select ${dataset.columns.map((c) => ident(c.name)).join(', ') || '*'} from ${ident(dataset.name)}`;
  const r = await copySelectCsv(ctx.db, { projectId: input.projectId, environment: input.environment }, { sql });
  if (!r.ok) throw queryError(r, sql);
  const teamId = await teamOfProject(ctx.db, input.projectId);
  await ctx.db
    .transaction((tx) =>
    emitAudit(tx, auditMetaOf(ctx), {
      action: 'dataset.download',
      target: { type: 'dataset', id: dataset.id },
      teamId,
      projectId: input.projectId,
      details: { name: dataset.name, environment: input.environment, rows: Number(dataset.rowCount) },
    }),
    )
    .catch((err: unknown) => {
      // No download without its audit event: the open COPY is dropped with the stream.
      r.stream.destroy();
      throw err;
    });
  return r.stream;
}
