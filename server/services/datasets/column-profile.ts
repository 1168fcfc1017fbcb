import type { ColumnProfile, OutputColumnType } from '../notebooks/output-types';
import { ident } from './storage';

/**
 * Column profiles of a relation (a cell's result or a dataset), computed in SQL in ONE scan of it,
 * whatever the number of columns: one plain aggregate gives the row count, non-null counts, min/max
 * and means over every row (exact), and collects a sample of about PROFILE_SAMPLE_ROWS rows
 * (`array_agg(...) FILTER (WHERE <drawn>)`), whose values are grouped here, in Node (grouping them
 * in SQL, column by column, cost as much as the scan), for distinct counts, histograms (width_bucket's
 * arithmetic between the exact bounds) and top values. When the whole result fits in the sample every
 * row is sampled and everything is exact; otherwise histogram and top-value counts are scaled to the
 * whole, distinct counts estimated (Haas-Stokes Duj1, the estimator ANALYZE uses) and the profile says
 * `sampled`.
 *
 * Parallel workers: from Postgres 16 (the embedded default) array_agg can be computed in parts by
 * workers and combined, but random() is parallel-restricted and would keep the scan in one process.
 * There the draw is a parallel-safe hash of the time the row is read (microseconds since the
 * statement began) mixed with one column's value. Rows read in the same microsecond that agree on
 * that column share their fate, so the sample is one of small runs of rows (a few at most) rather than
 * of independent rows: histograms and top values stay unbiased; column-profile-sample.test.ts bounds
 * the errors against exact values. Before 16 the scan runs in one process whatever we do, and the
 * draw is random(). (bench notebook, 1M rows: ~2x one parallel aggregate pass on 18, ~2.5x on 15;
 * a GROUP BY with a group per sampled row, which 15 can run in parallel, measured slower.)
 *
 * p comes from `knownRows` when the caller knows the size, else from the planner's estimate (EXPLAIN).
 * Residual: a badly underestimated result collects a larger sample than intended (memory in the
 * backend and here grows with it; the statement timeout still applies).
 *
 * `run(prefix, suffix)` runs `prefix + <the relation's SELECT> + suffix` (in the sandbox for users'
 * SQL), so the same code profiles a cell's result and a table.
 */
export type RelationRun = (prefix: string, suffix: string, params?: unknown[]) => Promise<{ rows: Record<string, unknown>[] }>;
export type ProfileColumn = { name: string; type: OutputColumnType };

/**
 * About this many rows are sampled from a larger result: enough for 20-bin histograms and top values
 * within a few percent; the work after the scan costs in proportion to it.
 */
export const PROFILE_SAMPLE_ROWS = 20_000;
export const HISTOGRAM_BINS = 20;
export const TOP_VALUES = 10;

const histogrammed = (t: OutputColumnType) => t === 'integer' || t === 'numeric' || t === 'timestamp';
// date_part, not extract: extract returns numeric since Postgres 14, several times slower per value.
const asDouble = (expr: string, type: OutputColumnType) => (type === 'timestamp' ? `date_part('epoch', ${expr})` : `${expr}::float8`);

/**
 * A 64-bit hash of one column's value, for mixing into the sampling draw: the cheapest column there
 * is (hashing every column costs more than the whole aggregate pass). Timestamps and booleans are
 * skipped (a time-zone conversion per row; two values add nothing).
 */
function mixHash(columns: ProfileColumn[]): string {
  const order: OutputColumnType[] = ['integer', 'numeric', 'text'];
  for (const type of order) {
    const c = columns.find((x) => x.type === type);
    if (!c) continue;
    const col = `q.${ident(c.name)}`;
    const h = type === 'integer' ? `hashint8extended(${col}::int8, 0)` : type === 'numeric' ? `hashfloat8extended(${col}::float8, 0)` : `hashtextextended(${col}::text, 0)`;
    return `coalesce(${h}, 0) # `;
  }
  return '';
}

/** The signed 64-bit threshold under which a uniform 64-bit hash falls with probability `fraction`. */
function hashThreshold(fraction: number): string {
  const span = 2n ** 64n;
  const scaled = (span * BigInt(Math.round(fraction * 1e9))) / 1_000_000_000n;
  return (scaled - 2n ** 63n).toString();
}

async function estimateRows(run: RelationRun): Promise<number> {
  const r = await run('EXPLAIN (FORMAT JSON) SELECT * FROM (\n', '\n) AS q');
  const plan = Object.values(r.rows[0] ?? {})[0];
  const parsed = (typeof plan === 'string' ? JSON.parse(plan) : plan) as { Plan?: { 'Plan Rows'?: number } }[];
  return Number(parsed[0]?.Plan?.['Plan Rows'] ?? 0);
}

/** `server_version_num` of the server the relation lives on (decides the shape of the scan). */
async function serverVersion(run: RelationRun): Promise<number> {
  const r = await run(`SELECT current_setting('server_version_num')::int AS v FROM (SELECT 1) AS one LEFT JOIN (SELECT * FROM (\n`, '\n) AS q LIMIT 0) AS z ON true');
  return Number(r.rows[0]?.v ?? 0);
}

/**
 * `population`: the relation is itself a random sample (TABLESAMPLE) of a table of this many rows.
 * Counts are then scaled from the rows read to the population, and min, max and mean are the
 * sample's: every figure is an estimate and the profile says `sampled`.
 */
export type ProfileOptions = { knownRows?: number; population?: number };

export async function profileRelation(run: RelationRun, columns: ProfileColumn[], opts: ProfileOptions = {}): Promise<{ rowCount: number; rowsRead: number; profile: ColumnProfile[] }> {
  const expected = opts.knownRows ?? (await estimateRows(run));
  const fraction = Math.min(1, PROFILE_SAMPLE_ROWS / Math.max(1, expected));
  const drawn = fraction < 1;
  // The draw's shape depends on the server; a relation that fits in the sample draws nothing.
  const parallel = drawn && (await serverVersion(run)) >= 160000;
  const presampled = opts.population !== undefined;
  const sampled = drawn || presampled;
  const draw = !drawn
    ? 'true'
    : parallel
      ? `(${mixHash(columns)}interval_hash_extended(clock_timestamp() - statement_timestamp(), 0)) < ${hashThreshold(fraction)}::int8`
      : `random() < ${fraction.toFixed(8)}`;
  const inSample = 'q.__stagebook_profile_key';
  const parts = ['count(*) AS n', `count(*) FILTER (WHERE ${inSample}) AS sn`];
  const head: string[] = [`'n', a.n`, `'sn', a.sn`];
  // A sampled value as the JS side groups it: a histogrammed value as a double (equality of doubles
  // is equality of the values: integers below 2^53, timestamps to the microsecond), any other as text.
  const sampleExpr = (c: ProfileColumn, v: string) => (histogrammed(c.type) ? asDouble(v, c.type) : `${v}::text`);
  columns.forEach((c, i) => {
    const col = `q.${ident(c.name)}`;
    parts.push(`count(${col}) AS c${i}`, `array_agg(${sampleExpr(c, col)}) FILTER (WHERE ${inSample}) AS s${i}`);
    head.push(`'c${i}', a.c${i}`);
    if (histogrammed(c.type)) {
      // Bounds are compared in their own type (converting every row to epoch seconds costs more
      // than the scan); only the sample is converted.
      parts.push(`min(${col}) AS lo${i}`, `max(${col}) AS hi${i}`);
      head.push(`'lo${i}', a.lo${i}`, `'hi${i}', a.hi${i}`, `'elo${i}', ${asDouble(`a.lo${i}`, c.type)}`, `'ehi${i}', ${asDouble(`a.hi${i}`, c.type)}`);
    }
    if (c.type === 'integer' || c.type === 'numeric') {
      parts.push(`sum(${col}::float8) AS sm${i}`);
      head.push(`'avg${i}', a.sm${i} / nullif(a.c${i}, 0)`);
    }
  });
  // json_build_object takes at most 100 arguments: chunk the head into several objects. The samples
  // travel as JSON: JSON.parse reads 20,000-element arrays several times faster than node-pg's parser.
  const branches: string[] = [];
  for (let k = 0; k < head.length; k += 40) {
    branches.push(`SELECT 'head' AS kind, json_build_object(${head.slice(k, k + 40).join(', ')})::text AS j${columns.map((_, i) => `, NULL::text AS v${i}`).join('')} FROM a`);
  }
  branches.push(`SELECT 'sample', NULL${columns.map((_, i) => `, to_json(a.s${i})::text`).join('')} FROM a`);
  const detail = (
    await run(
      `WITH a AS (SELECT ${parts.join(', ')} FROM (SELECT q.*, ${draw} AS __stagebook_profile_key FROM (\n`,
      `\n) AS q) AS q)\n${branches.join('\nUNION ALL\n')}`,
    )
  ).rows;

  const headRow: Record<string, unknown> = {};
  let values: unknown[][] = columns.map(() => []);
  for (const r of detail) {
    if (r.kind === 'head') Object.assign(headRow, JSON.parse(String(r.j)) as Record<string, unknown>);
    else values = columns.map((_, i) => (r[`v${i}`] === null || r[`v${i}`] === undefined ? [] : (JSON.parse(String(r[`v${i}`])) as unknown[])));
  }
  const rowsRead = Number(headRow.n ?? 0);
  const rowCount = presampled ? opts.population! : rowsRead;
  // Counts over the rows read, scaled to the whole when the relation is a sample of it.
  const toWhole = (n: number) => (presampled ? (rowsRead === 0 ? 0 : Math.round((n * rowCount) / rowsRead)) : n);
  const sampleAll = Number(headRow.sn ?? 0);
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  const profile = columns.map((c, i): ColumnProfile => {
    const nonNull = Math.min(rowCount, toWhole(Number(headRow[`c${i}`] ?? 0)));
    // The sample's values with their counts: the distinct count, how many appear once (f1, for the
    // estimate), the sample's non-null size and the top values.
    const counts = new Map<string | number | null, number>();
    for (const value of values[i]!) {
      const v = (value ?? null) as string | number | null;
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    let sampleNonNull = 0;
    let f1 = 0;
    for (const [v, n] of counts) {
      if (v === null) continue;
      sampleNonNull += n;
      if (n === 1) f1 += 1;
    }
    const distinctInSample = counts.size - (counts.has(null) ? 1 : 0);
    // Duj1: n*d / (n - f1 + f1*n/N), with n the sample's non-null values and N the whole's.
    const distinct =
      !sampled || sampleNonNull === 0
        ? distinctInSample
        : Math.round(Math.min(nonNull, Math.max(distinctInSample, (sampleNonNull * distinctInSample) / Math.max(1, sampleNonNull - f1 + (f1 * sampleNonNull) / Math.max(1, nonNull)))));
    const scaleNonNull = sampled && sampleNonNull > 0 ? nonNull / sampleNonNull : 1;
    const scaleAll = sampled && sampleAll > 0 ? rowCount / sampleAll : 1;
    // Bounds as doubles (timestamps: epoch seconds, which is what the buckets are cut on).
    const bound = (v: unknown) => (v === null || v === undefined ? null : c.type === 'timestamp' ? epochOf(String(v)) : Number(v));
    const lo = bound(headRow[`lo${i}`]);
    const hi = bound(headRow[`hi${i}`]);
    const asValue = (v: number | null) => (v === null ? null : c.type === 'timestamp' ? new Date(v * 1000).toISOString() : v);
    let histogram: ColumnProfile['histogram'] = null;
    if (histogrammed(c.type)) {
      const elo = num(headRow[`elo${i}`]);
      const ehi = num(headRow[`ehi${i}`]);
      if (lo === null || hi === null || elo === null || ehi === null) histogram = [];
      else if (ehi === elo) histogram = [{ lo: asValue(lo)!, hi: asValue(hi)!, count: nonNull }];
      else {
        const width = (hi - lo) / HISTOGRAM_BINS;
        const counts = new Array<number>(HISTOGRAM_BINS).fill(0);
        // width_bucket's arithmetic; the maximum falls in bucket bins + 1: fold it into the last one.
        for (const x of values[i]!) {
          if (x === null || x === undefined) continue;
          const b = Math.floor(HISTOGRAM_BINS * ((Number(x) - elo) / (ehi - elo)));
          counts[Math.min(HISTOGRAM_BINS - 1, Math.max(0, b))]! += 1;
        }
        histogram = counts.map((count, b) => ({ lo: asValue(lo + b * width)!, hi: asValue(b === HISTOGRAM_BINS - 1 ? hi : lo + (b + 1) * width)!, count: Math.round(count * scaleNonNull) }));
      }
    }
    const topValues = histogrammed(c.type)
      ? null
      : [...counts]
          .sort((x, y) => y[1] - x[1] || (x[0] === y[0] ? 0 : x[0] === null ? -1 : y[0] === null ? 1 : x[0] < y[0] ? -1 : 1))
          .slice(0, TOP_VALUES)
          .map(([value, count]) => ({ value: value === null ? null : String(value), count: Math.round(count * scaleAll) }));
    return {
      name: c.name,
      type: c.type,
      rows: rowCount,
      nullCount: rowCount - nonNull,
      distinctCount: distinct,
      sampled,
      min: asValue(lo),
      max: asValue(hi),
      mean: num(headRow[`avg${i}`]),
      histogram,
      topValues,
    };
  });
  return { rowCount, rowsRead, profile };
}

/** JSON of a timestamp without time zone has no offset: the session's zone (UTC) is meant, not Node's. */
function epochOf(iso: string): number {
  return Date.parse(/T[\d:.]+$/.test(iso) ? `${iso}Z` : iso) / 1000;
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
