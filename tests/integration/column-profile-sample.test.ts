import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HISTOGRAM_BINS, profileRelation, type ProfileColumn } from '@/server/services/datasets/column-profile';
import type { ColumnProfile } from '@/server/services/notebooks/output-types';
import { createPostgresDatabase, drivers } from '../helpers/db';

/**
 * The sampled profile of a large result against exact values computed here, in JS, from the same
 * formulas the table is generated with: on the embedded PostgreSQL 18 (the parallel-safe draw of
 * column-profile.ts) and on the Postgres 15 server (random()).
 */
const N = 200_000;
const rowsOf = () =>
  Array.from({ length: N }, (_, k) => {
    const g = k + 1;
    return {
      id: g,
      // skewed: bins of a histogram over it hold very different counts
      root: Math.floor(Math.sqrt(g)),
      // 50,000 values seen 4 times each: the distinct count has to be estimated, not read off
      quad: g % 50_000,
      // 40/30/20/10 %
      grade: ['a', 'a', 'a', 'a', 'b', 'b', 'b', 'c', 'c', 'd'][g % 10]!,
      // long runs of one value, in the order the rows are read
      run: `r${Math.floor(g / 1000) % 7}`,
      note: g % 5 === 0 ? null : `v${g % 3}`,
      atMinutes: g,
    };
  });
const GENERATE = `CREATE TABLE t AS SELECT g AS id, floor(sqrt(g))::int AS root, g % 50000 AS quad,
  (array['a','a','a','a','b','b','b','c','c','d'])[1 + g % 10] AS grade, 'r' || ((g / 1000) % 7) AS run,
  CASE WHEN g % 5 = 0 THEN NULL ELSE 'v' || (g % 3) END AS note, timestamp '2024-01-01' + g * interval '1 minute' AS at
  FROM generate_series(1, ${N}) g`;
const COLUMNS: ProfileColumn[] = [
  { name: 'id', type: 'integer' },
  { name: 'root', type: 'integer' },
  { name: 'quad', type: 'integer' },
  { name: 'grade', type: 'text' },
  { name: 'run', type: 'text' },
  { name: 'note', type: 'text' },
  { name: 'at', type: 'timestamp' },
];

/** width_bucket's bins between the exact bounds, the maximum folded into the last. */
function exactHistogram(values: number[]): number[] {
  const lo = values.reduce((m, v) => Math.min(m, v), Infinity);
  const hi = values.reduce((m, v) => Math.max(m, v), -Infinity);
  const counts = new Array<number>(HISTOGRAM_BINS).fill(0);
  for (const v of values) counts[Math.min(HISTOGRAM_BINS - 1, Math.floor(((v - lo) / (hi - lo)) * HISTOGRAM_BINS))]! += 1;
  return counts;
}

function exactCounts(values: (string | null)[]): Map<string | null, number> {
  const m = new Map<string | null, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return m;
}

/**
 * A sampled count (about a tenth of the rows here, scaled back) against the exact one: within six
 * standard deviations of a sample of independent rows, plus a little for rounding. `runs`: rows that
 * agree on the column the draw mixes in and are read in the same microsecond share their fate, which
 * widens the error by up to the square root of the rows per microsecond (a few).
 */
function expectNear(estimate: number, exact: number, label: string, runs = 1) {
  const sd = Math.sqrt(exact * (N / 20_000 - 1));
  expect(Math.abs(estimate - exact), `${label}: ${estimate} against ${exact}`).toBeLessThanOrEqual(6 * runs * sd + 50);
}

describe.each(drivers)('column profiles of a large result from a sample (%s)', (driver) => {
  let server: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let client: pg.Client;
  const rows = rowsOf();
  const profile = async (select: string, columns: ProfileColumn[]): Promise<ColumnProfile[]> =>
    (await profileRelation(async (prefix, suffix, params) => ({ rows: (await client.query(`${prefix}${select}${suffix}`, params)).rows }), columns, { knownRows: N })).profile;

  beforeAll(async () => {
    server = await createPostgresDatabase(driver);
    client = new pg.Client({ connectionString: server.url });
    await client.connect();
    await client.query(`SET timezone = 'UTC'`);
    await client.query(GENERATE);
    await client.query('ANALYZE t');
  });
  afterAll(async () => {
    await client?.end();
    await server?.drop();
  });

  it('counts, bounds and means are exact over every row; the rest says sampled', async () => {
    const p = await profile('SELECT * FROM t', COLUMNS);
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    for (const c of p) expect(c).toMatchObject({ rows: N, sampled: true });
    expect(p[0]).toMatchObject({ nullCount: 0, min: 1, max: N });
    expect(p[0]!.mean).toBeCloseTo(mean(rows.map((r) => r.id)), 6);
    expect(p[1]).toMatchObject({ min: 1, max: Math.floor(Math.sqrt(N)) });
    expect(p[1]!.mean).toBeCloseTo(mean(rows.map((r) => r.root)), 6);
    expect(p[2]).toMatchObject({ min: 0, max: 49_999 });
    expect(p[5]!.nullCount).toBe(rows.filter((r) => r.note === null).length);
    expect(p[6]).toMatchObject({ nullCount: 0, min: new Date(Date.UTC(2024, 0, 1, 0, 1)).toISOString(), max: new Date(Date.UTC(2024, 0, 1) + N * 60_000).toISOString() });
  });

  it('estimates distinct counts within 10% of the exact ones, and counts a few frequent values exactly', async () => {
    const p = await profile('SELECT * FROM t', COLUMNS);
    const exact = (key: keyof ReturnType<typeof rowsOf>[number]) => new Set(rows.map((r) => r[key]).filter((v) => v !== null)).size;
    // root: 447 values, the smallest seen only a few times (r appears 2r + 1 times), so a sample misses some.
    for (const [i, key] of [[0, 'id'], [1, 'root'], [2, 'quad'], [6, 'atMinutes']] as const) {
      expect(Math.abs(p[i]!.distinctCount - exact(key)) / exact(key), `${key}: ${p[i]!.distinctCount} against ${exact(key)}`).toBeLessThan(0.1);
    }
    expect(p[3]!.distinctCount).toBe(4);
    expect(p[4]!.distinctCount).toBe(7);
    expect(p[5]!.distinctCount).toBe(3);
  });

  it('scales histograms of skewed and uniform columns to the whole within sampling error', async () => {
    const p = await profile('SELECT * FROM t', COLUMNS);
    for (const [i, values] of [
      [0, rows.map((r) => r.id)],
      [1, rows.map((r) => r.root)],
      [6, rows.map((r) => r.atMinutes)],
    ] as const) {
      const exact = exactHistogram(values);
      const got = p[i]!.histogram!;
      expect(got).toHaveLength(HISTOGRAM_BINS);
      got.forEach((bin, b) => expectNear(bin.count, exact[b]!, `${p[i]!.name} bin ${b}`));
    }
  });

  it('scales top values to the whole within sampling error, in order, NULL included', async () => {
    const p = await profile('SELECT * FROM t', COLUMNS);
    for (const [i, key] of [[3, 'grade'], [4, 'run'], [5, 'note']] as const) {
      const exact = exactCounts(rows.map((r) => r[key]));
      const got = p[i]!.topValues!;
      expect(new Set(got.map((v) => v.value))).toEqual(new Set(exact.keys()));
      for (const v of got) expectNear(v.count, exact.get(v.value)!, `${key}=${v.value}`);
    }
    expect(p[3]!.topValues!.map((v) => v.value)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('samples rows, not values, when the result is one low-cardinality column (every row a duplicate)', async () => {
    const [grade] = await profile('SELECT grade FROM t', [{ name: 'grade', type: 'text' }]);
    const exact = exactCounts(rows.map((r) => r.grade));
    expect(grade!.topValues!.map((v) => v.value)).toEqual(['a', 'b', 'c', 'd']);
    for (const v of grade!.topValues!) expectNear(v.count, exact.get(v.value)!, `grade=${v.value}`, 3);
  });
});
