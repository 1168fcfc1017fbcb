import type { ColumnProfile, OutputColumnType } from '../notebooks/output-types';
import { ident } from './storage';

/**
 * Column profiles of a relation (a cell's result or a dataset), computed in SQL over the whole of it,
 * in two statements whatever the number of columns:
 *
 * 1. one aggregate pass: row count, non-null count, min/max, mean per column (exact);
 * 2. one statement over a materialized CTE: distinct counts, histograms (width_bucket between the
 *    bounds of pass 1) and top values. Up to EXACT_PROFILE_MAX_ROWS rows it reads the whole result;
 *    above, a Bernoulli sample of about PROFILE_SAMPLE_ROWS rows (`random() < p`): histogram and top
 *    value counts are scaled to the whole, distinct counts estimated (Haas-Stokes Duj1, the estimator
 *    ANALYZE uses), and the profile says `sampled`.
 *
 * `run(prefix, suffix)` runs `prefix + <the relation's SELECT> + suffix` (in the sandbox for users'
 * SQL), so the same code profiles a cell's result and a table.
 */
export type RelationRun = (prefix: string, suffix: string, params?: unknown[]) => Promise<{ rows: Record<string, unknown>[] }>;
export type ProfileColumn = { name: string; type: OutputColumnType };

export const EXACT_PROFILE_MAX_ROWS = 100_000;
export const PROFILE_SAMPLE_ROWS = 50_000;
export const HISTOGRAM_BINS = 20;
export const TOP_VALUES = 10;

const histogrammed = (t: OutputColumnType) => t === 'integer' || t === 'numeric' || t === 'timestamp';
const ordered = histogrammed;

/** The column as a double for width_bucket: timestamps as epoch seconds. */
function numericExpr(col: string, type: OutputColumnType): string {
  return type === 'timestamp' ? `extract(epoch from ${col})::float8` : `${col}::float8`;
}

export async function profileRelation(run: RelationRun, columns: ProfileColumn[]): Promise<{ rowCount: number; profile: ColumnProfile[] }> {
  const parts = ['count(*) AS n'];
  columns.forEach((c, i) => {
    const col = `q.${ident(c.name)}`;
    parts.push(`count(${col}) AS c${i}`);
    if (ordered(c.type)) parts.push(`min(${numericExpr(col, c.type)}) AS lo${i}`, `max(${numericExpr(col, c.type)}) AS hi${i}`);
    if (c.type === 'integer' || c.type === 'numeric') parts.push(`avg(${col}::float8) AS avg${i}`);
  });
  const head = (await run(`SELECT ${parts.join(', ')} FROM (\n`, '\n) AS q')).rows[0] ?? {};
  const rowCount = Number(head.n ?? 0);
  const sampled = rowCount > EXACT_PROFILE_MAX_ROWS;
  const fraction = sampled ? PROFILE_SAMPLE_ROWS / rowCount : 1;

  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  const base = columns.map((c, i) => {
    const nonNull = Number(head[`c${i}`] ?? 0);
    return { c, i, nonNull, lo: num(head[`lo${i}`]), hi: num(head[`hi${i}`]), mean: num(head[`avg${i}`]) };
  });

  const branches: string[] = ['SELECT -1 AS col, \'n\' AS kind, NULL::int AS b, NULL::text AS v, count(*)::float8 AS k FROM s'];
  const params: unknown[] = [];
  for (const { c, i, nonNull, lo, hi } of base) {
    if (nonNull === 0 || columns.length === 0) continue;
    const col = `s.${ident(c.name)}`;
    // Distinct values and how many appear once (f1, for the sampled estimate), in one grouping.
    branches.push(
      `SELECT ${i}, 'd', (count(*) FILTER (WHERE g.k = 1))::int, NULL, count(*)::float8 FROM (SELECT ${col}::text AS v, count(*) AS k FROM s WHERE ${col} IS NOT NULL GROUP BY 1) AS g`,
    );
    if (histogrammed(c.type) && lo !== null && hi !== null && hi > lo) {
      params.push(lo, hi);
      const l = `$${params.length - 1}::float8`;
      const h = `$${params.length}::float8`;
      // The maximum falls in bucket bins + 1: fold it into the last one.
      branches.push(
        `SELECT ${i}, 'h', least(width_bucket(${numericExpr(col, c.type)}, ${l}, ${h}, ${HISTOGRAM_BINS}), ${HISTOGRAM_BINS}), NULL, count(*)::float8 FROM s WHERE ${col} IS NOT NULL GROUP BY 3`,
      );
    }
    if (c.type === 'text' || c.type === 'boolean') {
      branches.push(`(SELECT ${i}, 't', NULL, ${col}::text, count(*)::float8 FROM s GROUP BY 4 ORDER BY 5 DESC, 4 LIMIT ${TOP_VALUES})`);
    }
  }
  const sample = sampled ? ` WHERE random() < ${fraction.toFixed(8)}` : '';
  const detail = (await run(`WITH s AS MATERIALIZED (SELECT * FROM (\n`, `\n) AS q${sample})\n${branches.join('\nUNION ALL\n')}`, params)).rows;

  const sampleRows = Number(detail.find((r) => Number(r.col) === -1)?.k ?? 0);
  const scale = sampled && sampleRows > 0 ? rowCount / sampleRows : 1;
  const profile = base.map(({ c, i, nonNull, lo, hi, mean }): ColumnProfile => {
    const mine = detail.filter((r) => Number(r.col) === i);
    const d = mine.find((r) => r.kind === 'd');
    const distinctInSample = Number(d?.k ?? 0);
    const f1 = Number(d?.b ?? 0);
    const sampleNonNull = nonNull / scale;
    // Duj1: n*d / (n - f1 + f1*n/N), with n the sample's non-null rows and N the whole's.
    const distinct = !sampled
      ? distinctInSample
      : Math.round(Math.min(nonNull, (sampleNonNull * distinctInSample) / Math.max(1, sampleNonNull - f1 + (f1 * sampleNonNull) / Math.max(1, nonNull))));
    const asValue = (v: number | null) => (v === null ? null : c.type === 'timestamp' ? new Date(v * 1000).toISOString() : v);
    let histogram: ColumnProfile['histogram'] = null;
    if (histogrammed(c.type)) {
      if (lo === null || hi === null) histogram = [];
      else if (hi === lo) histogram = [{ lo: asValue(lo)!, hi: asValue(hi)!, count: nonNull }];
      else {
        const width = (hi - lo) / HISTOGRAM_BINS;
        const counts = new Array<number>(HISTOGRAM_BINS).fill(0);
        for (const r of mine) if (r.kind === 'h') counts[Math.min(HISTOGRAM_BINS, Math.max(1, Number(r.b))) - 1]! += Math.round(Number(r.k) * scale);
        histogram = counts.map((count, b) => ({ lo: asValue(lo + b * width)!, hi: asValue(b === HISTOGRAM_BINS - 1 ? hi : lo + (b + 1) * width)!, count }));
      }
    }
    const topValues =
      c.type === 'text' || c.type === 'boolean'
        ? mine.filter((r) => r.kind === 't').map((r) => ({ value: r.v === null || r.v === undefined ? null : String(r.v), count: Math.round(Number(r.k) * scale) }))
        : null;
    return {
      name: c.name,
      type: c.type,
      rows: rowCount,
      nullCount: rowCount - nonNull,
      distinctCount: distinct,
      sampled,
      min: asValue(lo),
      max: asValue(hi),
      mean,
      histogram,
      topValues,
    };
  });
  return { rowCount, profile };
}

/** Postgres type oid -> the notebook's column type. */
export function outputTypeOfOid(oid: number | undefined): OutputColumnType {
  switch (oid) {
    case 20:
    case 21:
    case 23:
      return 'integer';
    case 700:
    case 701:
    case 1700:
      return 'numeric';
    case 16:
      return 'boolean';
    case 1082:
    case 1114:
    case 1184:
      return 'timestamp';
    default:
      return 'text';
  }
}

/** A database value as plain JSON: timestamps as ISO strings, big integers as numbers when safe. */
export function jsonCell(type: OutputColumnType, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? String(v) : v.toISOString();
  switch (type) {
    case 'integer': {
      const n = Number(v);
      return Number.isSafeInteger(n) ? n : String(v);
    }
    case 'numeric': {
      const n = Number(v);
      return Number.isFinite(n) ? n : String(v);
    }
    case 'boolean':
      return typeof v === 'boolean' ? v : String(v);
    case 'timestamp':
    case 'text':
      return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
}
