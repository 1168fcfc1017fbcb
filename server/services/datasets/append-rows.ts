import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { eq, sql } from 'drizzle-orm';
import { datasets, type Environment } from '@/db/schema';
import { closestName } from '@/server/pipeline/text';
import { emitAudit } from '../audit/emit';
import { auditMetaOf, type ServiceCtx } from '../context';
import { conflict, invalid } from '../errors';
import { jsonValue } from '../../domain/column-types';
import { findDataset } from './find-dataset';
import { ident, schemaNameOf, withDataTransaction } from './storage';

const MAX_PARAMS = 60_000;
const MAX_REPORTED = 5;

/**
 * Appends rows to a source dataset, all or nothing: every row is checked against the dataset's
 * columns first (the error names the row and field), then inserted in one transaction.
 */
export async function appendRows({
  ctx,
  input,
}: {
  ctx: ServiceCtx;
  input: { projectId: string; name: string; environment: Environment; rows: Record<string, unknown>[] };
}): Promise<{ appended: number; rowCount: number; fingerprint: string }> {
  const meta = auditMetaOf(ctx);
  const dataset = await findDataset(ctx.db, input);
  if (dataset.kind !== 'source') throw conflict(`"${dataset.name}" is built by a cell; rows can only be appended to source datasets`, 'name');
  const { values, problems } = validateRows(dataset.columns, input.rows);
  if (problems.length) {
    const more = problems.length > MAX_REPORTED ? ` (and ${problems.length - MAX_REPORTED} more)` : '';
    throw invalid(`nothing was appended: ${problems.slice(0, MAX_REPORTED).map((p) => `${p.field}: ${p.message}`).join('; ')}${more}`, problems[0]!.field);
  }
  const table = `${ident(schemaNameOf(input.projectId, input.environment))}.${ident(dataset.name)}`;
  const columnList = dataset.columns.map((c) => ident(c.name)).join(', ');
  return withDataTransaction(ctx.db, async (s) => {
    const current = await findDataset(s.tx, input, { forUpdate: true });
    // An upload or type change may have landed since validation: validate against what is locked.
    if (JSON.stringify(current.columns) !== JSON.stringify(dataset.columns)) throw conflict(`the columns of "${dataset.name}" changed while appending; retry`);
    await s.query(`SET LOCAL timezone = 'UTC'`);
    const width = dataset.columns.length;
    const perStatement = Math.max(1, Math.floor(MAX_PARAMS / width));
    for (let start = 0; start < values.length; start += perStatement) {
      const chunk = values.slice(start, start + perStatement);
      const tuples = chunk.map((_, r) => `(${dataset.columns.map((__, c) => `$${r * width + c + 1}`).join(', ')})`).join(', ');
      await s.query(`INSERT INTO ${table} (${columnList}) VALUES ${tuples}`, chunk.flat());
    }
    const fingerprint = createHash('sha256').update(current.fingerprint).update('\n').update(canonicalize(input.rows) ?? '').digest('hex');
    const [row] = await s.tx
      .update(datasets)
      .set({ rowCount: sql`${datasets.rowCount} + ${values.length}`, fingerprint, updatedAt: sql`now()` })
      .where(eq(datasets.id, current.id))
      .returning();
    if (!row) throw new Error('dataset update returned no row');
    await emitAudit(s.tx, meta, {
      action: 'dataset.append',
      target: { type: 'dataset', id: row.id },
      projectId: input.projectId,
      details: { name: row.name, environment: input.environment, rows: values.length, rowCount: Number(row.rowCount), fingerprint },
    });
    return { appended: values.length, rowCount: Number(row.rowCount), fingerprint };
  });
}

type Problem = { field: string; message: string };

export function validateRows(
  columns: { name: string; type: Parameters<typeof jsonValue>[0]; nullable: boolean }[],
  rows: Record<string, unknown>[],
): { values: (string | number | boolean | null)[][]; problems: Problem[] } {
  const names = new Set(columns.map((c) => c.name));
  const problems: Problem[] = [];
  const values: (string | number | boolean | null)[][] = [];
  for (const [i, row] of rows.entries()) {
    for (const key of Object.keys(row)) {
      if (names.has(key)) continue;
      const guess = closestName(key, names);
      problems.push({ field: `rows[${i}].${key}`, message: `not a column${guess ? `: did you mean "${guess}"?` : ''}` });
    }
    values.push(
      columns.map((c) => {
        const v = row[c.name];
        if (v === null || v === undefined) {
          if (!c.nullable) problems.push({ field: `rows[${i}].${c.name}`, message: 'is required (this column has no missing values)' });
          return null;
        }
        const r = jsonValue(c.type, v);
        if (!r.ok) {
          problems.push({ field: `rows[${i}].${c.name}`, message: r.message });
          return null;
        }
        return r.value;
      }),
    );
  }
  return { values, problems };
}
