import type { DatasetColumnSpec, Environment } from '@/db/schema';
import type { CellValue, ColumnSchema, Table } from '@/server/ml/types';
import { ensureProjectStorage, ident, schemaNameOf, withDataTransaction, type DataSession } from '../datasets/storage';

export const READ_BATCH_ROWS = 10_000;

/** How a dataset column reaches the model: text columns are categories, numbers are floats. */
export function mlColumnOf(c: DatasetColumnSpec): ColumnSchema | null {
  const written = c.header === undefined ? {} : { header: c.header };
  switch (c.type) {
    case 'integer':
      return { name: c.name, type: 'integer', ...written };
    case 'numeric':
      return { name: c.name, type: 'numeric', ...written };
    case 'boolean':
      return { name: c.name, type: 'boolean', ...written, ...(c.booleanWords ? { booleanWords: c.booleanWords } : {}) };
    case 'text':
      return { name: c.name, type: 'categorical', ...written };
    case 'timestamp':
      return null;
  }
}

/** The SELECT list for these columns: bigint and double as float8 (node-postgres reads bigint as a string). */
export function selectList(columns: readonly DatasetColumnSpec[]): string {
  return columns.map((c) => (c.type === 'integer' || c.type === 'numeric' ? `${ident(c.name)}::float8 AS ${ident(c.name)}` : ident(c.name))).join(', ');
}

/**
 * A session reading (and, for batch scoring, writing) a project's data as the project's own role:
 * whatever the statements, they reach that project's schemas only (see sql-sandbox.ts). The
 * application's session is that role's member (or superuser), so `SET LOCAL ROLE` is allowed.
 */
export async function withProjectRole<T>(db: Parameters<typeof withDataTransaction>[0], projectId: string, fn: (s: DataSession) => Promise<T>): Promise<T> {
  const storage = await ensureProjectStorage(db, projectId);
  return withDataTransaction(db, async (s) => {
    await s.query(`SET LOCAL ROLE ${ident(storage.roleName)}`);
    await s.query(`SET LOCAL timezone = 'UTC'`);
    return fn(s);
  });
}

/**
 * Streams a dataset's columns into memory as a training table: rows arrive through a cursor in
 * batches of READ_BATCH_ROWS and go straight into one array per column (never a whole table of row
 * objects). Checks the signal between batches.
 */
export async function readDatasetTable(
  db: Parameters<typeof withDataTransaction>[0],
  ref: { projectId: string; environment: Environment; table: string },
  columns: readonly DatasetColumnSpec[],
  opts: { signal?: AbortSignal; onRows?: (rows: number) => void; rowHashes?: boolean } = {},
): Promise<Table & { rowHashes?: Int32Array }> {
  const schema: ColumnSchema[] = columns.map((c) => mlColumnOf(c) ?? { name: c.name, type: 'text' });
  const values: Record<string, CellValue[]> = Object.fromEntries(columns.map((c) => [c.name, []]));
  const source = `${ident(schemaNameOf(ref.projectId, ref.environment))}.${ident(ref.table)}`;
  // The whole row's hash (every column, not just these): what server/ml/seen-rows.ts identifies rows by.
  const hashes: number[] | null = opts.rowHashes ? [] : null;
  const hashColumn = hashes ? `, hashtext(ROW(sb_row.*)::text) AS "${ROW_HASH}"` : '';
  await withProjectRole(db, ref.projectId, async (s) => {
    await s.query(`DECLARE sb_read NO SCROLL CURSOR FOR SELECT ${selectList(columns)}${hashColumn} FROM ${source} AS sb_row`);
    let rows = 0;
    for (;;) {
      opts.signal?.throwIfAborted();
      const batch = await s.query(`FETCH ${READ_BATCH_ROWS} FROM sb_read`);
      for (const c of columns) {
        const out = values[c.name]!;
        for (const r of batch) out.push(cellOf(r[c.name]));
      }
      if (hashes) for (const r of batch) hashes.push(Number(r[ROW_HASH]));
      rows += batch.length;
      opts.onRows?.(rows);
      if (batch.length < READ_BATCH_ROWS) break;
    }
  });
  return { columns: values, schema, ...(hashes ? { rowHashes: Int32Array.from(hashes) } : {}) };
}

const ROW_HASH = '__sb_row_hash';

function cellOf(v: unknown): CellValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  if (v instanceof Date) return v.toISOString();
  return String(v);
}
