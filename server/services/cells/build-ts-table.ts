import type { Db } from '@/db/client';
import type { DatasetColumnType } from '@/db/schema';
import { parseNameList, readHeaders } from '@/server/pipeline/headers';
import { pgTypeOf } from '../../domain/column-types';
import { withSandboxSession, type SandboxQuery, type SandboxScope } from '../datasets/sql-sandbox';
import { ident } from '../datasets/storage';
import { describeTable, type TableColumn } from './table-metrics';
import { TsCellError, type TsCellLimits } from './ts-cell-sandbox';
import { openTsCellThread } from './ts-cell-thread';

export type TsBuildOptions = {
  cellId: string;
  source: string;
  table: string;
  limits: TsCellLimits;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Read at most this many rows of each input (a preview's bounded sample). */
  inputLimit?: number;
  /** Called after each batch (the activity heartbeats with it). */
  onProgress?: (p: { rowsIn: number; rowsOut: number }) => void;
};

/** Batches adapt to keep one call into the cell near this long (heartbeats run between calls). */
const TARGET_CALL_MS = 250;
const MIN_BATCH = 50;
const MAX_BATCH = 5_000;

const OUTPUT_COLUMN = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Builds `table` from a ts cell: each declared input (`// inputs: a, b`, in that order) streams
 * from Postgres through a cursor in batches into the cell, and what it emits goes into the table
 * with one INSERT ... json_populate_recordset per batch. All in one sandbox session: the project's
 * role reads only its own schema, and a failure leaves no table behind.
 *
 * Output columns are fixed by the first rows emitted: a key that is also an input column keeps that
 * column's type when the values fit; otherwise numbers are numeric (double precision), booleans
 * boolean, anything else text.
 */
export async function buildTsTable(db: Db, scope: SandboxScope, opts: TsBuildOptions): Promise<{ rowsIn: number; rowCount: number; columns: string[]; cappedInputs: string[] }> {
  const inputs = declaredInputs(opts.source);
  const cell = await openTsCellThread(opts.cellId, opts.source, opts.limits, opts.signal ? { signal: opts.signal } : {});
  try {
    return await withSandboxSession(db, scope, { timeoutMs: opts.timeoutMs, ...(opts.signal ? { signal: opts.signal } : {}) }, async (q) => {
      const target = ident(opts.table);
      const inputTypes = new Map<string, DatasetColumnType>();
      let columns: string[] | null = null;
      let rowsIn = 0;
      let rowCount = 0;
      // Inputs read up to `inputLimit` rows: they may have more, which the cell did not see.
      const cappedInputs: string[] = [];
      const write = async (json: string) => {
        if (json === '[]' || json === '') return;
        if (!columns) {
          columns = await createOutputTable(q, target, JSON.parse(json) as Record<string, unknown>[], inputTypes, opts.cellId);
          await cell.fixColumns(columns);
        }
        try {
          rowCount += (await q(`INSERT INTO ${target} SELECT * FROM json_populate_recordset(NULL::${target}, $1::json)`, [json])).rowCount;
        } catch (err) {
          const e = err as { code?: unknown; message?: unknown };
          if (typeof e.code !== 'string' || e.code === '57014') throw err;
          throw new TsCellError(opts.cellId, 'runtime', `an emitted row does not fit the output columns (typed from the first rows emitted): ${String(e.message)}`);
        }
      };
      for (const [i, input] of inputs.entries()) {
        const cols = await describeTable(q, input).catch(() => null);
        if (!cols) throw new TsCellError(opts.cellId, 'runtime', `input "${input}" has not been built yet`);
        for (const c of cols) if (!inputTypes.has(c.name)) inputTypes.set(c.name, c.type);
        const cursor = `sb_in_${i}`;
        await q(`DECLARE ${cursor} NO SCROLL CURSOR FOR SELECT ${cols.map(selectExpr).join(', ') || '*'} FROM ${ident(input)}${opts.inputLimit === undefined ? '' : ` LIMIT ${Math.max(0, Math.floor(opts.inputLimit))}`}`);
        let batch = 1_000;
        let inputRows = 0;
        for (;;) {
          const r = await q(`FETCH ${batch} FROM ${cursor}`);
          if (r.rows.length === 0) break;
          rowsIn += r.rows.length;
          inputRows += r.rows.length;
          const started = performance.now();
          const out = await cell.transform(input, JSON.stringify(r.rows));
          const elapsed = performance.now() - started;
          batch = Math.max(MIN_BATCH, Math.min(MAX_BATCH, Math.round(batch * (TARGET_CALL_MS / Math.max(elapsed, 1)))));
          await write(out);
          opts.onProgress?.({ rowsIn, rowsOut: rowCount });
        }
        await q(`CLOSE ${cursor}`);
        if (opts.inputLimit !== undefined && inputRows >= opts.inputLimit) cappedInputs.push(input);
      }
      await write(await cell.finish());
      if (!columns) {
        await q(`CREATE TABLE ${target} ()`);
        columns = [];
      }
      return { rowsIn, rowCount, columns, cappedInputs };
    });
  } finally {
    await cell.close();
  }
}

function declaredInputs(source: string): string[] {
  const h = readHeaders(source, '//').get('inputs');
  return h ? parseNameList(h).names.map((n) => n.name) : [];
}

/** Numbers reach the cell as JavaScript numbers (bigint and numeric as doubles), times as ISO strings. */
function selectExpr(c: TableColumn): string {
  const col = ident(c.name);
  if (c.category === 'N') return c.typname === 'int2' || c.typname === 'int4' || c.typname === 'float4' || c.typname === 'float8' ? col : `${col}::float8 AS ${col}`;
  if (['B', 'S', 'D', 'A'].includes(c.category) || c.typname === 'json' || c.typname === 'jsonb') return col;
  return `${col}::text AS ${col}`;
}

async function createOutputTable(q: SandboxQuery, target: string, rows: Record<string, unknown>[], inputTypes: Map<string, DatasetColumnType>, cellId: string): Promise<string[]> {
  const order: string[] = [];
  const samples = new Map<string, unknown[]>();
  for (const row of rows) {
    for (const [k, v] of Object.entries(row)) {
      if (!samples.has(k)) {
        if (!OUTPUT_COLUMN.test(k)) throw new TsCellError(cellId, 'api', `emitted column "${k}": output columns must be lowercase identifiers (a-z, 0-9, _)`);
        samples.set(k, []);
        order.push(k);
      }
      if (v !== null && v !== undefined) samples.get(k)!.push(v);
    }
  }
  const defs = order.map((k) => `${ident(k)} ${pgTypeOf[outputType(samples.get(k)!, inputTypes.get(k))]}`);
  await q(`CREATE TABLE ${target} (${defs.join(', ')})`);
  return order;
}

function outputType(values: unknown[], inputType: DatasetColumnType | undefined): DatasetColumnType {
  const all = (p: (v: unknown) => boolean) => values.length > 0 && values.every(p);
  const isNumber = (v: unknown) => typeof v === 'number';
  if (inputType === 'integer' && all((v) => Number.isSafeInteger(v))) return 'integer';
  if (inputType === 'timestamp' && all((v) => typeof v === 'string' && !Number.isNaN(Date.parse(v)))) return 'timestamp';
  if (all(isNumber)) return 'numeric';
  if (all((v) => typeof v === 'boolean')) return 'boolean';
  return 'text';
}
