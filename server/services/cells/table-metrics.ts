import { createHash } from 'node:crypto';
import type { BuildStepMetrics, DatasetColumnMetrics, DatasetColumnSpec, DatasetColumnType } from '@/db/schema';
import { PROFILE_SAMPLE_ROWS, profileRelation } from '../datasets/column-profile';
import { metricsOfProfile } from '../datasets/dataset-profile';
import type { SandboxQuery } from '../datasets/sql-sandbox';
import type { ColumnProfile } from '../notebooks/output-types';
import { ident } from '../datasets/storage';

/**
 * A step's staging table, named by (run, step) and the attempt: a retry drops the tables of the
 * attempts before it and builds its own. The attempt is in the name because a killed worker's
 * session may still be running its CREATE TABLE (uncommitted) until the server notices: a retry
 * using the same name would wait on that transaction's catalog row.
 */
export function stagingTableOf(runId: string, stepId: string, attempt: number): string {
  return `_sb_b_${createHash('sha256').update(`${runId}\u0000${stepId}`).digest('hex').slice(0, 20)}_${attempt}`;
}

export type TableColumn = { name: string; typname: string; category: string; type: DatasetColumnType };

/** The table's columns as Postgres has them, in order, with the dataset column type each maps to. */
export async function describeTable(q: SandboxQuery, table: string): Promise<TableColumn[]> {
  const r = await q(
    `SELECT a.attname AS name, t.typname AS typname, t.typcategory AS category
       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
      WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [ident(table)],
  );
  return r.rows.map((row) => {
    const typname = String(row.typname);
    const category = String(row.category);
    return { name: String(row.name), typname, category, type: datasetTypeOf(typname, category) };
  });
}

function datasetTypeOf(typname: string, category: string): DatasetColumnType {
  if (typname === 'int2' || typname === 'int4' || typname === 'int8') return 'integer';
  if (category === 'N') return 'numeric';
  if (category === 'B') return 'boolean';
  if (category === 'D') return 'timestamp';
  return 'text';
}

export const columnSpecsOf = (columns: TableColumn[]): DatasetColumnSpec[] => columns.map((c) => ({ name: c.name, type: c.type, nullable: true }));

/** Tables up to this many rows get exact distinct counts; larger ones the planner's estimate. */
export const EXACT_DISTINCT_MAX_ROWS = 200_000;

const orderable = (c: TableColumn) => c.category === 'N' || c.category === 'D';
const distinctable = (c: TableColumn) => ['N', 'B', 'D', 'S'].includes(c.category);

/**
 * Row count, nulls per column, min/max for numbers and times, mean for numbers, distinct count:
 * one scan of the table. Distinct counts are exact up to EXACT_DISTINCT_MAX_ROWS rows; above, they
 * are Postgres' own estimate after ANALYZE (a sample of ~30,000 rows), which the planner also wants
 * for the steps that read this table next.
 */
export async function computeTableMetrics(q: SandboxQuery, table: string, columns: TableColumn[], knownRowCount: number | null): Promise<{ rowCount: number; columns: DatasetColumnMetrics[] }> {
  const exactDistinct = knownRowCount !== null && knownRowCount <= EXACT_DISTINCT_MAX_ROWS;
  const parts = ['count(*) AS n'];
  columns.forEach((c, i) => {
    const col = ident(c.name);
    parts.push(`count(${col}) AS c${i}`);
    if (orderable(c)) parts.push(`min(${col}) AS lo${i}`, `max(${col}) AS hi${i}`);
    if (c.category === 'N') parts.push(`avg(${col})::float8 AS avg${i}`);
    if (exactDistinct && distinctable(c)) parts.push(`count(DISTINCT ${col}) AS d${i}`);
  });
  const row = (await q(`SELECT ${parts.join(', ')} FROM ${ident(table)}`)).rows[0] ?? {};
  const rowCount = Number(row.n ?? 0);
  let estimates = new Map<string, number>();
  if (!exactDistinct && columns.some(distinctable)) estimates = await estimateDistinct(q, table, rowCount);
  const metrics = columns.map((c, i): DatasetColumnMetrics => {
    const m: DatasetColumnMetrics = { name: c.name, nullCount: rowCount - Number(row[`c${i}`] ?? 0) };
    if (distinctable(c)) {
      const d = exactDistinct ? Number(row[`d${i}`] ?? 0) : estimates.get(c.name);
      if (d !== undefined) m.distinctCount = d;
    }
    if (orderable(c)) {
      m.min = scalar(row[`lo${i}`]);
      m.max = scalar(row[`hi${i}`]);
    }
    if (c.category === 'N') m.mean = row[`avg${i}`] === null || row[`avg${i}`] === undefined ? null : Number(row[`avg${i}`]);
    return m;
  });
  return { rowCount, columns: metrics };
}

async function estimateDistinct(q: SandboxQuery, table: string, rowCount: number): Promise<Map<string, number>> {
  await q(`ANALYZE ${ident(table)}`);
  const r = await q(`SELECT attname, n_distinct, null_frac FROM pg_stats WHERE schemaname = current_schema() AND tablename = $1`, [table]);
  const out = new Map<string, number>();
  for (const s of r.rows) {
    const nd = Number(s.n_distinct);
    // Negative: a fraction of the rows (of the non-null ones, as Postgres counts it).
    const nonNull = rowCount * (1 - Number(s.null_frac ?? 0));
    out.set(String(s.attname), Math.round(nd >= 0 ? nd : -nd * nonNull));
  }
  return out;
}

function scalar(v: unknown): number | string | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'number') return v;
  const n = Number(v);
  return typeof v === 'string' && Number.isFinite(n) && /^-?\d/.test(v) ? n : String(v);
}

/** Column profiles of a built table, with the same SQL as a cell preview's (datasets.profile reads them). */
export async function profileBuiltTable(q: SandboxQuery, table: string, columns: TableColumn[], rowCount: number): Promise<ColumnProfile[]> {
  const { profile } = await profileRelation(
    (prefix, suffix, params) => q(`${prefix}SELECT * FROM ${ident(table)}${suffix}`, params),
    columns.map((c) => ({ name: c.name, type: c.type })),
    { knownRows: rowCount },
  );
  return profile;
}

/** Tables above this many rows are measured on a sample (labelled `approximate`); up to it, exactly. */
export const EXACT_METRICS_MAX_ROWS = EXACT_DISTINCT_MAX_ROWS;

/**
 * Rows a large table's sample reads: TABLESAMPLE SYSTEM draws whole blocks (reading only those),
 * then the profile's row draw keeps about PROFILE_SAMPLE_ROWS of them for distinct counts,
 * histograms and top values; two stages, as ANALYZE samples. Null counts, min, max and mean come
 * from every row read.
 */
export const METRICS_SAMPLE_READ_ROWS = 5 * PROFILE_SAMPLE_ROWS;

export type TableMeasure = { metrics: BuildStepMetrics; profile: ColumnProfile[] | null };

/** Runs `fn` in a second session beside `q`'s when one is free now, else null (sql-sandbox.ts `trySpareSandboxSession`). */
export type SpareSession = <T>(fn: (q: SandboxQuery) => Promise<T>) => Promise<T> | null;

/**
 * A table's metrics and, with `profile`, its column profiles, in as few passes as its size allows.
 * A table of known size above EXACT_METRICS_MAX_ROWS: one pass over a block sample (a few percent
 * of the table), every column figure an estimate and labelled so; the row count is the known one.
 * Up to PROFILE_SAMPLE_ROWS rows: the profile's one pass is exact and gives the metrics too. Between:
 * an exact metrics pass (exact distinct counts) and the profile's.
 */
export async function measureTable(q: SandboxQuery, table: string, columns: TableColumn[], knownRowCount: number | null, opts: { profile: boolean; spare?: SpareSession }): Promise<TableMeasure> {
  if (knownRowCount !== null && knownRowCount > EXACT_METRICS_MAX_ROWS) {
    const sampled = await measureSample(q, table, columns, knownRowCount);
    if (sampled) return { metrics: sampled.metrics, profile: opts.profile ? sampled.profile : null };
  }
  if (opts.profile && knownRowCount !== null && knownRowCount <= PROFILE_SAMPLE_ROWS) {
    const { rowCount, profile } = await profileRelation(
      (prefix, suffix, params) => q(`${prefix}SELECT * FROM ${ident(table)}${suffix}`, params),
      columns.map((c) => ({ name: c.name, type: c.type })),
      { knownRows: knownRowCount },
    );
    return { metrics: { rowCount, columns: exactMetricsOfProfile(profile, columns) }, profile };
  }
  if (opts.profile && knownRowCount !== null) {
    const beside = await exactBesideProfile(q, table, columns, knownRowCount, opts.spare);
    if (beside) return beside;
  }
  const metrics = await computeTableMetrics(q, table, columns, knownRowCount);
  return { metrics, profile: opts.profile ? await profileBuiltTable(q, table, columns, metrics.rowCount) : null };
}

/**
 * The exact pass in a spare session while the profile's runs in `q`'s: two passes of about the same
 * cost (count(DISTINCT) and the sample's array_agg run in one process each before Postgres 16), on a
 * build's critical path. Null when no session is free. Results as one after the other: the profile
 * is redone with the counted rows in the (not expected) case the known count was not the table's.
 */
async function exactBesideProfile(q: SandboxQuery, table: string, columns: TableColumn[], knownRowCount: number, spare: SpareSession | undefined): Promise<TableMeasure | null> {
  const exact = spare?.((q2) => computeTableMetrics(q2, table, columns, knownRowCount));
  if (!exact) return null;
  const [metrics, profile] = await Promise.allSettled([exact, profileBuiltTable(q, table, columns, knownRowCount)]);
  // The exact pass's failure first, as when it ran first.
  if (metrics.status === 'rejected') throw metrics.reason;
  if (profile.status === 'rejected') throw profile.reason;
  const rowCount = metrics.value.rowCount;
  return { metrics: metrics.value, profile: rowCount === knownRowCount ? profile.value : await profileBuiltTable(q, table, columns, rowCount) };
}

/** The metrics computeTableMetrics gives, read off an exact profile (distinct counts of the same columns). */
function exactMetricsOfProfile(profile: ColumnProfile[], columns: TableColumn[]): DatasetColumnMetrics[] {
  return metricsOfProfile(profile).map((m, i) => {
    if (columns[i] && !distinctable(columns[i])) delete m.distinctCount;
    return m;
  });
}

async function measureSample(q: SandboxQuery, table: string, columns: TableColumn[], rowCount: number): Promise<(TableMeasure & { profile: ColumnProfile[] }) | null> {
  const percent = Math.min(100, (100 * METRICS_SAMPLE_READ_ROWS) / rowCount);
  const { rowsRead, profile } = await profileRelation(
    (prefix, suffix, params) => q(`${prefix}SELECT * FROM ${ident(table)} TABLESAMPLE SYSTEM (${percent.toFixed(6)})${suffix}`, params),
    columns.map((c) => ({ name: c.name, type: c.type })),
    { knownRows: Math.round((rowCount * percent) / 100), population: rowCount },
  );
  // An empty draw (a table whose rows sit in very few blocks) says nothing: measure it exactly.
  if (rowsRead === 0) return null;
  const label = { approximate: true as const, sampleRows: rowsRead };
  const metricColumns = exactMetricsOfProfile(profile, columns).map((m) => ({ ...m, ...label }));
  return { metrics: { rowCount, columns: metricColumns, ...label }, profile };
}
