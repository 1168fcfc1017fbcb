import type { z } from 'zod';
import type { Db } from '@/db/client';
import { jsonCell, outputTypeOfOid } from '../datasets/column-profile';
import { ident } from '../datasets/storage';
import { withUserSelect, type SandboxScope, type WrappedRun } from '../datasets/sql-sandbox';
import type { ServiceCtx } from '../context';
import { invalid } from '../errors';
import { currentCell } from './cell-source';
import type { ChartData, OutputColumnType } from './output-types';
import type { ChartDataInput, ChartDataSpec } from './output-schemas';
import { PREVIEW_TIMEOUT_MS } from './run-cell';
import { withPythonResult } from './preview-python';
import { withTsResult } from './preview-ts';
import { byRowKind, isRowCellKind } from '@/server/domain/cell-kinds';

/** Points a chart gets at most: scatter plots are sampled down to it, aggregated ones capped. */
export const MAX_CHART_POINTS = 5_000;
export const CHART_HISTOGRAM_BINS = 30;

type Spec = z.output<typeof ChartDataSpec>;

/**
 * The data of a cell's chart, aggregated in SQL over the cell's whole result (its current source, in
 * the sandbox, like a preview). Row keys are the column names of the spec (`x`, `y`, `color`); with
 * `aggregate: count` and no `y` the value is `count`. A histogram's rows are `{ bin_start, bin_end,
 * count }` (plus the colour column) over CHART_HISTOGRAM_BINS equal bins of a numeric or timestamp
 * `x`, or counts per value of any other `x`. A column the result lacks is an `error`, not a throw.
 */
export async function chartData({ ctx, input, timeoutMs }: { ctx: ServiceCtx; input: z.output<typeof ChartDataInput>; timeoutMs?: number }): Promise<ChartData> {
  const { cell } = await currentCell(ctx, input);
  if (!isRowCellKind(cell.kind)) throw invalid(`a ${cell.kind} cell has no result to chart`, 'cellId');
  const scope = { projectId: input.projectId, environment: 'design' as const };
  const t = timeoutMs ?? PREVIEW_TIMEOUT_MS;
  const held = { cellId: cell.id, source: cell.source, timeoutMs: t };
  const chart = (sql: string) => chartOf(ctx.db, scope, sql, input.spec, t);
  const r = await byRowKind(cell.kind, {
    sql: () => chart(cell.source),
    ts: () => withTsResult(ctx.db, scope, held, chart),
    python: () => withPythonResult(ctx.db, scope, held, chart),
  });
  if ('ok' in r && r.ok === false) return { rows: [], aggregated: false, sampled: false, error: r.message };
  return r as ChartData;
}

async function chartOf(db: Db, scope: SandboxScope, sql: string, spec: Spec, timeoutMs: number) {
  return withUserSelect(db, scope, { sql, timeoutMs }, async (run): Promise<ChartData> => {
    const head = await run('SELECT * FROM (\n', '\n) AS q LIMIT 0');
    const types = new Map(head.fields.map((f, i) => [f, outputTypeOfOid(head.types?.[i])]));
    const named = [['x', spec.x], ['y', spec.y], ['color', spec.color]] as const;
    for (const [role, name] of named) {
      if (name !== undefined && !types.has(name)) {
        return { rows: [], aggregated: false, sampled: false, error: `the result has no column "${name}" (chart ${role}); its columns: ${head.fields.join(', ')}` };
      }
    }
    if (spec.type === 'histogram') return histogram(run, spec, types);
    const aggregate = spec.aggregate ?? (spec.y ? 'none' : 'count');
    if (aggregate !== 'count' && !spec.y) return { rows: [], aggregated: false, sampled: false, error: `aggregate "${aggregate}" needs a y column` };
    if (aggregate !== 'none' && aggregate !== 'count' && spec.y && !isNumeric(types.get(spec.y))) {
      return { rows: [], aggregated: false, sampled: false, error: `aggregate "${aggregate}" needs a numeric y; "${spec.y}" is ${types.get(spec.y)}` };
    }
    if (aggregate === 'none' || spec.type === 'scatter') return points(run, spec, types);
    return grouped(run, spec, aggregate, types);
  });
}

const isNumeric = (t: OutputColumnType | undefined) => t === 'integer' || t === 'numeric';
const q = (name: string) => `q.${ident(name)}`;

function rowsOf(r: { rows: Record<string, unknown>[] }, types: Map<string, OutputColumnType>, keys: string[]): Record<string, unknown>[] {
  return r.rows.map((row) => Object.fromEntries(keys.map((k) => [k, jsonCell(types.get(k) ?? (k === 'count' ? 'integer' : 'numeric'), row[k])])));
}

/** Raw points (no aggregation): a uniform random sample when the result has more than the cap. */
async function points(run: WrappedRun, spec: Spec, types: Map<string, OutputColumnType>): Promise<ChartData> {
  const keys = [...new Set([spec.x, spec.y, spec.color].filter((k): k is string => k !== undefined))];
  const cols = keys.map((k) => `${q(k)} AS ${ident(k)}`).join(', ');
  const total = Number((await run('SELECT count(*) AS n FROM (\n', '\n) AS q')).rows[0]?.n ?? 0);
  const sampled = total > MAX_CHART_POINTS;
  const order = spec.type === 'scatter' ? '' : ` ORDER BY 1`;
  const r = sampled
    ? await run(`SELECT * FROM (SELECT ${cols} FROM (\n`, `\n) AS q ORDER BY random() LIMIT ${MAX_CHART_POINTS}) AS q${order}`)
    : await run(`SELECT ${cols} FROM (\n`, `\n) AS q${order}`);
  return { rows: rowsOf(r, types, keys), aggregated: false, sampled, error: null };
}

async function grouped(run: WrappedRun, spec: Spec, aggregate: 'count' | 'sum' | 'mean' | 'min' | 'max', types: Map<string, OutputColumnType>): Promise<ChartData> {
  const valueKey = spec.y === undefined ? 'count' : spec.y === spec.x || spec.y === spec.color ? `${aggregate}_${spec.y}` : spec.y;
  const fn = { count: 'count', sum: 'sum', mean: 'avg', min: 'min', max: 'max' }[aggregate];
  const arg = aggregate === 'count' ? (spec.y ? q(spec.y) : '*') : `${q(spec.y!)}::float8`;
  const groups = [spec.x, ...(spec.color !== undefined && spec.color !== spec.x ? [spec.color] : [])];
  const select = [...groups.map((g) => `${q(g)} AS ${ident(g)}`), `${fn}(${arg}) AS ${ident(valueKey)}`].join(', ');
  const r = await run(`SELECT ${select} FROM (\n`, `\n) AS q GROUP BY ${groups.map((_, i) => i + 1).join(', ')} ORDER BY ${groups.map((_, i) => i + 1).join(', ')} LIMIT ${MAX_CHART_POINTS + 1}`);
  const capped = r.rows.length > MAX_CHART_POINTS;
  const valueTypes = new Map(types);
  valueTypes.set(valueKey, aggregate === 'count' ? 'integer' : 'numeric');
  return { rows: rowsOf({ rows: r.rows.slice(0, MAX_CHART_POINTS) }, valueTypes, [...groups, valueKey]), aggregated: true, sampled: capped, error: null };
}

async function histogram(run: WrappedRun, spec: Spec, types: Map<string, OutputColumnType>): Promise<ChartData> {
  const xType = types.get(spec.x);
  const color = spec.color && spec.color !== spec.x ? spec.color : undefined;
  const colorSelect = color ? `, ${q(color)} AS ${ident(color)}` : '';
  const colorGroup = color ? ', 2' : '';
  if (!isNumeric(xType) && xType !== 'timestamp') {
    const r = await run(`SELECT ${q(spec.x)}::text AS ${ident(spec.x)}${colorSelect}, count(*) AS count FROM (\n`, `\n) AS q GROUP BY 1${colorGroup} ORDER BY count(*) DESC LIMIT ${MAX_CHART_POINTS + 1}`);
    const t = new Map(types).set(spec.x, 'text').set('count', 'integer');
    return { rows: rowsOf({ rows: r.rows.slice(0, MAX_CHART_POINTS) }, t, [spec.x, ...(color ? [color] : []), 'count']), aggregated: true, sampled: r.rows.length > MAX_CHART_POINTS, error: null };
  }
  const xv = xType === 'timestamp' ? `extract(epoch from ${q(spec.x)})::float8` : `${q(spec.x)}::float8`;
  const n = CHART_HISTOGRAM_BINS;
  const r = await run(
    `WITH r AS MATERIALIZED (SELECT ${xv} AS v${colorSelect} FROM (\n`,
    `\n) AS q), b AS (SELECT min(v) AS lo, max(v) AS hi FROM r)
SELECT CASE WHEN b.hi > b.lo THEN least(width_bucket(r.v, b.lo, b.hi, ${n}), ${n}) ELSE 1 END AS bin${color ? `, r.${ident(color)} AS ${ident(color)}` : ''}, count(*) AS count, min(b.lo) AS lo, min(b.hi) AS hi
FROM r, b WHERE r.v IS NOT NULL GROUP BY 1${colorGroup} ORDER BY 1${colorGroup}`,
  );
  const first = r.rows[0];
  if (!first) return { rows: [], aggregated: true, sampled: false, error: null };
  const lo = Number(first.lo);
  const hi = Number(first.hi);
  const width = hi > lo ? (hi - lo) / n : 0;
  const asX = (v: number) => (xType === 'timestamp' ? new Date(v * 1000).toISOString() : v);
  const rows = r.rows.map((row) => {
    const bin = Number(row.bin);
    const start = lo + (bin - 1) * width;
    const end = hi > lo ? (bin === n ? hi : lo + bin * width) : hi;
    return { bin_start: asX(start), bin_end: asX(end), ...(color ? { [color]: jsonCell(types.get(color)!, row[color]) } : {}), count: Number(row.count) };
  });
  return { rows, aggregated: true, sampled: false, error: null };
}
