/**
 * Batch scoring throughput: `scoreDataset` (server/services/models/score-dataset.ts; on a Postgres
 * server score-by-copy.ts: binary COPY out, 50,000-row batches decoded into tensors and scored, binary
 * COPY back into a staging table, then published with its audit rows) on a generated 1M-row dataset
 * with 20 features (bench/synthetic.ts), from Postgres back into Postgres, for a logistic
 * regression and a 100-tree gradient-boosted model (trained in memory on 50k rows of the same
 * generator and imported as ONNX, as a client would). The baseline is the I/O floor on the same
 * server in the same run: COPY the same rows out to Node and COPY them back into a new table of the
 * same columns (one stream piped into the other). Prints rows/s of each and our ratio to the floor.
 *
 * The data lives in a scratch database on the local server (127.0.0.1:5432, trust auth) with
 * Stagebook's schema migrated in (scoreDataset needs the registry and a project's storage schema),
 * dropped at the end with the project's role.
 *
 *   npx tsx bench/batch-scoring.ts [--rows 1000000]
 *
 * Each model is also scored with one onnxruntime thread (the real-time sessions' options) instead of
 * batch scoring's intra-op threads, for comparison.
 *
 * Records its ratios for the aims table (bench/aims.ts: batch-floor).
 */
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { openDatabase } from '../db/client';
import { exportOnnx } from '../server/ml/onnx/export';
import { trainModel } from '../server/ml/train';
import type { TrainSpecInput } from '../server/ml/spec';
import { ident, schemaNameOf } from '../server/services/datasets/storage';
import { uploadDataset } from '../server/services/datasets/upload-dataset';
import { importOnnxModel } from '../server/services/models/import-onnx-model';
import { scoreDataset } from '../server/services/models/score-dataset';
import { scoringRuntime } from '../server/services/scoring/runtime';
import { type BatchModel, openBatchModel } from '../server/scoring/category-codes';
import { SESSION_OPTIONS, SessionCache } from '../server/scoring/session-cache';
import { createPostgresDatabase } from '../tests/helpers/db';
import { recordAims } from './aims';
import { syntheticCsv, syntheticTable, TARGET } from './synthetic';
import { benchProject, disposeBenchDatabase } from './bench-db';

function rowsArg(): number {
  const i = process.argv.indexOf('--rows');
  const n = Number((i >= 0 ? process.argv[i + 1] : '1000000')?.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < 1000) throw new Error('--rows wants a row count >= 1000');
  return n;
}

const models: { name: string; label: string; spec: TrainSpecInput }[] = [
  { name: 'lr', label: 'logistic regression', spec: { algorithm: 'logistic_regression', target: TARGET, positiveClass: 'yes' } },
  { name: 'trees', label: '100-tree gradient boosting', spec: { algorithm: 'gradient_boosted_trees', target: TARGET, positiveClass: 'yes', params: { maxIter: 100, earlyStopping: false } } },
];

const rate = (rows: number, seconds: number) =>
  `${Math.round(rows / seconds)
    .toLocaleString('en-US')
    .padStart(9)} rows/s (${seconds.toFixed(1)} s)`;

/** COPY the table out to Node and straight back into a new table of the same columns. */
async function ioFloor(url: string, schema: string, table: string, into: string): Promise<number> {
  const out = new pg.Client({ connectionString: url });
  const back = new pg.Client({ connectionString: url });
  await Promise.all([out.connect(), back.connect()]);
  try {
    await back.query(`DROP TABLE IF EXISTS ${schema}.${ident(into)}`);
    await back.query(`CREATE TABLE ${schema}.${ident(into)} (LIKE ${schema}.${ident(table)})`);
    const started = performance.now();
    await pipeline(out.query(copyTo(`COPY ${schema}.${ident(table)} TO STDOUT`)), back.query(copyFrom(`COPY ${schema}.${ident(into)} FROM STDIN`)));
    const seconds = (performance.now() - started) / 1000;
    await back.query(`DROP TABLE ${schema}.${ident(into)}`);
    return seconds;
  } finally {
    await Promise.all([out.end(), back.end()]);
  }
}

async function main() {
  const rows = rowsArg();
  const pgdb = await createPostgresDatabase();
  const database = await openDatabase({ url: pgdb.url, poolSize: 4 });
  try {
    await database.migrate();
    const db = database.db;
    const { ctx, projectId } = await benchProject(db, 'Batch');

    console.log(`batch scoring: ${rows.toLocaleString('en-US')} generated rows, 20 features (14 numeric, 6 categorical), Postgres -> Postgres on 127.0.0.1`);
    let started = performance.now();
    const uploaded = await uploadDataset({ ctx, input: { projectId, name: 'synthetic', environment: 'design' }, csv: syntheticCsv(rows, 11) });
    console.log(`  (setup: generated and uploaded ${Number(uploaded.dataset.rowCount).toLocaleString('en-US')} rows in ${((performance.now() - started) / 1000).toFixed(1)} s)`);

    const schema = ident(schemaNameOf(projectId, 'design'));
    const floorSeconds = await ioFloor(pgdb.url, schema, 'synthetic', 'floor_copy');
    console.log(`\n  I/O floor: COPY out to Node + COPY into a new table   ${rate(rows, floorSeconds)}`);

    const sample = syntheticTable(50_000, 3);
    for (const m of models) {
      const trained = await trainModel(sample, m.spec);
      await importOnnxModel({ ctx, input: { projectId, name: m.name }, body: exportOnnx(trained.model).bytes });
      started = performance.now();
      const cpu = process.cpuUsage();
      const result = await scoreDataset({ ctx, input: { projectId, dataset: 'synthetic', model: m.name, output: `scored_${m.name}` } });
      const seconds = (performance.now() - started) / 1000;
      const { user, system } = process.cpuUsage(cpu);
      if (result.rows !== rows) throw new Error(`scored ${result.rows} rows, expected ${rows}`);
      // Where the time goes: this process's CPU (row parsing, tensors, onnxruntime) versus waiting on Postgres.
      recordAims('batch-scoring', 'batch-floor', { [m.name === 'lr' ? 'LR' : 'trees']: floorSeconds / seconds }, `${rows.toLocaleString('en-US')} rows`);
      console.log(`  scoreDataset, ${m.label.padEnd(27)}  ${rate(rows, seconds)}   ${(floorSeconds / seconds).toFixed(2)}x the floor's rate   (Node CPU ${((user + system) / 1e6).toFixed(1)} s)`);
      // The same with the real-time sessions' one onnxruntime thread instead of batch scoring's
      // intra-op threads (BATCH_SESSION_OPTIONS), for comparison: the same work, one core for it.
      const runtime = scoringRuntime(db);
      const batchSessions = runtime.batchSessions;
      runtime.batchSessions = new SessionCache<BatchModel>({ maxSessions: 1, sessionOptions: SESSION_OPTIONS, open: openBatchModel });
      try {
        const t0 = performance.now();
        await scoreDataset({ ctx, input: { projectId, dataset: 'synthetic', model: m.name, output: `scored_${m.name}_1thread` } });
        const oneSeconds = (performance.now() - t0) / 1000;
        console.log(`    (one onnxruntime thread instead: ${rate(rows, oneSeconds)}   ${(floorSeconds / oneSeconds).toFixed(2)}x)`);
      } finally {
        runtime.batchSessions = batchSessions;
      }
    }
  } finally {
    await disposeBenchDatabase(database, pgdb);
  }
}

await main();
