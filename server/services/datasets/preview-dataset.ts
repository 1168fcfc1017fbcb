import type { z } from 'zod';
import type { DatasetColumnType } from '@/db/schema';
import type { ServiceCtx } from '../context';
import { findDataset } from './find-dataset';
import type { PreviewDatasetInput } from './schemas';
import { ident, schemaNameOf, withDataTransaction } from './storage';

export type PreviewValue = string | number | boolean | null;

/** A page of a dataset's rows, in storage order (stable for a table nobody is writing). */
export async function previewDataset({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof PreviewDatasetInput> }) {
  const dataset = await findDataset(ctx.db, input);
  const table = `${ident(schemaNameOf(input.projectId, input.environment))}.${ident(dataset.name)}`;
  const names = dataset.columns.map((c) => ident(c.name)).join(', ');
  const rows = await withDataTransaction(ctx.db, async (s) => {
    await s.query(`SET LOCAL timezone = 'UTC'`);
    return s.query(`SELECT ${names} FROM ${table} LIMIT $1 OFFSET $2`, [input.limit, input.offset]);
  });
  return {
    columns: dataset.columns,
    rowCount: Number(dataset.rowCount),
    offset: input.offset,
    rows: rows.map((r) => dataset.columns.map((c) => jsonValueOf(c.type, r[c.name]))),
  };
}

function jsonValueOf(type: DatasetColumnType, v: unknown): PreviewValue {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (type === 'integer' && typeof v === 'string') return Number.isSafeInteger(Number(v)) ? Number(v) : v;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  return String(v);
}
