import { eq, sql } from 'drizzle-orm';
import type { z } from 'zod';
import { datasets } from '@/db/schema';
import { closestName } from '@/server/pipeline/text';
import { emitAudit } from '../audit/emit';
import { auditMetaOf, type ServiceCtx } from '../context';
import { conflict, invalid } from '../errors';
import { pgTypeOf } from '../../domain/column-types';
import { datasetView, type DatasetView } from './dataset-view';
import { findDataset } from './find-dataset';
import type { SetColumnTypeInput } from './schemas';
import { ident, schemaNameOf, withDataTransaction } from './storage';

/** Conversion failures: bad text representation, out of range, bad datetime. */
const CONVERSION_ERRORS = new Set(['22P02', '22003', '22007', '22008', '22023']);

/**
 * Changes a source column's type in place. The conversion goes through the value's text, so it is
 * strict: 1.5 does not become an integer, "maybe" does not become a boolean; one bad value refuses it.
 */
export async function setColumnType({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof SetColumnTypeInput> }): Promise<DatasetView> {
  const meta = auditMetaOf(ctx);
  const table = `${ident(schemaNameOf(input.projectId, input.environment))}.${ident(input.name)}`;
  return withDataTransaction(ctx.db, async (s) => {
    const dataset = await findDataset(s.tx, input, { forUpdate: true });
    if (dataset.kind !== 'source') throw conflict(`"${dataset.name}" is built by a cell: cast the column in its SELECT`, 'name');
    const column = dataset.columns.find((c) => c.name === input.column);
    if (!column) {
      const guess = closestName(input.column, dataset.columns.map((c) => c.name));
      throw invalid(`"${dataset.name}" has no column "${input.column}"${guess ? `: did you mean "${guess}"?` : ''}`, 'column');
    }
    if (column.type === input.type) return datasetView(dataset);
    await s.query(`SET LOCAL timezone = 'UTC'`);
    const col = ident(column.name);
    try {
      await s.query(`ALTER TABLE ${table} ALTER COLUMN ${col} TYPE ${pgTypeOf[input.type]} USING ${col}::text::${pgTypeOf[input.type]}`);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code && CONVERSION_ERRORS.has(code)) {
        throw invalid(`cannot make "${column.name}" ${input.type}: ${(err as Error).message}`, 'type');
      }
      throw err;
    }
    const columns = dataset.columns.map((c) => (c.name === column.name ? { ...c, type: input.type } : c));
    const [row] = await s.tx.update(datasets).set({ columns, updatedAt: sql`now()` }).where(eq(datasets.id, dataset.id)).returning();
    if (!row) throw new Error('dataset update returned no row');
    await emitAudit(s.tx, meta, {
      action: 'dataset.column_type_change',
      target: { type: 'dataset', id: row.id },
      projectId: input.projectId,
      details: { name: row.name, environment: input.environment, column: column.name, before: { type: column.type }, after: { type: input.type } },
    });
    return datasetView(row);
  });
}
