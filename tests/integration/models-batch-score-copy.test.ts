import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '@/server/services/context';
import { ident, schemaNameOf } from '@/server/services/datasets/storage';
import { uploadDataset } from '@/server/services/datasets/upload-dataset';
import { COPY_BATCH_ROWS } from '@/server/services/models/score-by-copy';
import { scoreDataset, type ScoreProgress } from '@/server/services/models/score-dataset';
import { scoringRuntime } from '@/server/services/scoring/runtime';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { tinyEndpoint } from '../helpers/models';

// More than two of the fast path's batches, so that a middle batch exists.
const ROWS = COPY_BATCH_ROWS * 2 + 5_000;
const BAD_ROW = COPY_BATCH_ROWS + 1_234;

/** id 1..ROWS; x missing on every 7th row; kind missing on every 13th, a category the model never saw on every 11th. */
async function* mixedCsv(): AsyncGenerator<string> {
  yield 'id,x,kind\n';
  let chunk = '';
  for (let id = 1; id <= ROWS; id++) {
    const x = id % 7 === 0 ? '' : String(((id * 37) % 1000) / 100);
    const kind = id % 13 === 0 ? '' : id % 11 === 0 ? 'zzz' : id % 3 === 0 ? 'a' : 'b';
    chunk += `${id},${x},${kind}\n`;
    if (id % 10_000 === 0) {
      yield chunk;
      chunk = '';
    }
  }
  yield chunk;
}

describe('batch scoring on a Postgres server (binary COPY both ways)', () => {
  let t: TestDatabase;
  let admin: Extract<Actor, { type: 'user' }>;
  let projectId: string;
  let table: string;
  const endpoint = 'batch-copy';

  const userTables = async () =>
    (await t.query(`select table_name from information_schema.tables where table_schema = $1 order by 1`, [schemaNameOf(projectId, 'design')])).map((r) => r.table_name);

  beforeAll(async () => {
    t = await openTestDatabase('postgres');
    admin = await newUser(t.db, 'admin');
    const team = await callerFor(t.db, admin).teams.create({ name: 'Copy' });
    projectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'P' })).id;
    await uploadDataset({ ctx: ctxFor(t.db, admin), input: { projectId, name: 'mixed', environment: 'design' }, csv: mixedCsv() });
    await tinyEndpoint(t.db, admin, projectId, endpoint, 'tiny');
    table = `${ident(schemaNameOf(projectId, 'design'))}.${ident('mixed')}`;
  });
  afterAll(async () => {
    await disposeWithProjectRoles(t);
  });

  it('scores nulls and unknown categories across batches exactly as real-time scoring does', async () => {
    const progress: ScoreProgress[] = [];
    const result = await scoreDataset({ ctx: ctxFor(t.db, admin), input: { projectId, model: 'tiny', dataset: 'mixed', output: 'mixed_scored' }, control: { onProgress: (p) => progress.push(p) } });
    expect(result).toMatchObject({ rows: ROWS, dataset: { name: 'mixed_scored', rowCount: ROWS } });
    expect(progress.map((p) => p.rowsScored)).toEqual([COPY_BATCH_ROWS, 2 * COPY_BATCH_ROWS, ROWS]);
    expect(progress.at(-1)).toEqual({ rowsScored: ROWS, totalRows: ROWS });
    // The batches ran on a scoring pool thread: the main thread kept reading, writing and serving.
    expect(scoringRuntime(t.db).pool.started).toBeGreaterThan(0);

    // Rows from every batch, with and without missing values and unknown categories.
    const ids = [1, 7, 11, 13, 77, 143, 1001, COPY_BATCH_ROWS, COPY_BATCH_ROWS + 1, COPY_BATCH_ROWS + 91, 2 * COPY_BATCH_ROWS + 3, ROWS - 1, ROWS];
    const rows = await t.query(`select id, x, kind, prediction, probability, model_version from ${ident(schemaNameOf(projectId, 'design'))}.mixed_scored where id = any($1::bigint[]) order by id`, [ids]);
    expect(rows.map((r) => Number(r.id))).toEqual(ids);
    const live = await callerFor(t.db, admin).scoring.predict({ endpoint, records: rows.map((r) => ({ x: r.x as number | null, kind: r.kind as string | null })) });
    rows.forEach((r, i) => {
      expect(r.prediction).toBe(live.predictions[i]!.label);
      expect(r.probability as number).toBeCloseTo(live.predictions[i]!.probabilities.yes!, 6);
      expect(Number(r.model_version)).toBe(1);
    });
    const [{ n }] = (await t.query(`select count(*)::int as n from ${ident(schemaNameOf(projectId, 'design'))}.mixed_scored where x is null or kind is null or kind = 'zzz'`)) as [{ n: number }];
    expect(n).toBeGreaterThan(ROWS / 5);
  });

  it('refuses a value the model cannot take in a middle batch, naming its row and field, and writes nothing', async () => {
    // Rewritten in place (an UPDATE would move the row to the end); rows are numbered in scan (ctid) order.
    await t.query(`begin;
      create temp table m as select id, case when id = ${BAD_ROW} then 'NaN'::float8 else x end as x, kind from ${table} order by ctid;
      truncate ${table};
      insert into ${table} select * from m;
      commit`);
    const [{ row }] = (await t.query(`select count(*)::int + 1 as row from ${table} where ctid < (select ctid from ${table} where id = ${BAD_ROW})`)) as [{ row: number }];
    expect(row).toBeGreaterThan(COPY_BATCH_ROWS);
    expect(row).toBeLessThanOrEqual(2 * COPY_BATCH_ROWS);
    const before = await userTables();
    try {
      await expect(scoreDataset({ ctx: ctxFor(t.db, admin), input: { projectId, model: 'tiny', dataset: 'mixed', output: 'mixed_bad' } })).rejects.toThrow(
        `row ${row} of "mixed" cannot be scored: x: expected a finite number, got NaN`,
      );
      expect(await userTables()).toEqual(before);
    } finally {
      await t.query(`update ${table} set x = null where id = ${BAD_ROW}`);
    }
  });

  it('stops when cancelled mid-way, rejecting with the reason and leaving no output table', async () => {
    const before = await userTables();
    const controller = new AbortController();
    const reason = new Error('stop scoring');
    const progress: number[] = [];
    await expect(
      scoreDataset({
        ctx: ctxFor(t.db, admin),
        input: { projectId, model: 'tiny', dataset: 'mixed', output: 'mixed_cancelled' },
        control: {
          signal: controller.signal,
          onProgress: (p) => {
            progress.push(p.rowsScored);
            controller.abort(reason);
          },
        },
      }),
    ).rejects.toBe(reason);
    expect(progress).toEqual([COPY_BATCH_ROWS]);
    expect(await userTables()).toEqual(before);
    expect(before).not.toContain('mixed_cancelled');
    // The connection is usable again: the next run succeeds.
    const again = await scoreDataset({ ctx: ctxFor(t.db, admin), input: { projectId, model: 'tiny', dataset: 'mixed', output: 'mixed_cancelled' } });
    expect(again.rows).toBe(ROWS);
  });
});
