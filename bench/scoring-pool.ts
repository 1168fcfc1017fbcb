/**
 * One-record predict latency while large predict requests run, with and without the scoring pool
 * (server/scoring/worker-pool.ts: runs over POOL_MIN_RECORDS records go to worker threads). A
 * 100-tree gradient-boosted model trained on credit_data.csv behind `POST /api/v1/endpoints/{name}/predict`;
 * autocannon sends one-record requests over 10 connections for `seconds`, and meanwhile `--big`
 * clients (default 2) each send 10,000-record requests back to back. Three interleaved phases per
 * round: one-record requests alone (the baseline), with the large ones and the pool, with the large
 * ones on the main thread (`pool.enabled = false`). Best of `rounds` per phase, as bench/scoring.ts.
 * Prints req/s, p50 and p99 of the one-record requests, and the large requests' records/s.
 *
 *   npm run bench scoring-pool -- --seconds 10 --rounds 2
 */
import { createReadStream } from 'node:fs';
import { openDatabase } from '../db/client';
import { buildApp } from '../server/app';
import { createApiKey } from '../server/services/api-keys/create-api-key';
import { uploadDataset } from '../server/services/datasets/upload-dataset';
import { createEndpoint } from '../server/services/endpoints/create-endpoint';
import { trainModelVersion } from '../server/services/models/train-model-version';
import { scoringRuntime } from '../server/services/scoring/runtime';
import { createPostgresDatabase } from '../tests/helpers/db';
import { sharedDataFile } from '../tests/helpers/data';
import { numberOption } from './aims';
import { benchProject, disposeBenchDatabase } from './bench-db';
import { cannon, CREDIT_RECORD } from './bench-http';

const SECONDS = numberOption('seconds', 0, 10);
const ROUNDS = numberOption('rounds', 1, 2);
const BIG_CLIENTS = numberOption('big', 2, 2);
const BIG_RECORDS = 10_000;

const RECORD = CREDIT_RECORD;

type Result = { rps: number; p50: number; p99: number; bad: number; bigRecordsPerSecond: number };

async function oneRecordLoad(url: string, body: string, headers: Record<string, string>, seconds: number): Promise<Omit<Result, 'bigRecordsPerSecond'>> {
  const r = await cannon(url, body, headers, seconds, 10);
  return { rps: r.rps, p50: r.p50, p99: r.p99, bad: r.non2xx + r.errors };
}

/** Large requests back to back from `clients` clients until `stop`; records scored per second. */
async function bigLoad(url: string, headers: Record<string, string>, clients: number, stop: Promise<void>): Promise<number> {
  const body = JSON.stringify({ records: Array.from({ length: BIG_RECORDS }, (_, i) => ({ ...RECORD, age: 20 + (i % 50) })) });
  let done = false;
  void stop.then(() => (done = true));
  let records = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (!done) {
        const res = await fetch(url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body });
        if (res.status !== 200) throw new Error(`a large request answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
        await res.arrayBuffer();
        records += BIG_RECORDS;
      }
    }),
  );
  return records / ((performance.now() - started) / 1000);
}

async function phase(url: string, headers: Record<string, string>, big: boolean): Promise<Result> {
  const body = JSON.stringify({ records: [RECORD] });
  await oneRecordLoad(url, body, headers, 1); // warm-up
  if (!big) return { ...(await oneRecordLoad(url, body, headers, SECONDS)), bigRecordsPerSecond: 0 };
  let stop!: () => void;
  const stopped = new Promise<void>((r) => (stop = r));
  const load = bigLoad(url, headers, BIG_CLIENTS, stopped);
  await new Promise((r) => setTimeout(r, 500)); // the large requests are under way
  const small = await oneRecordLoad(url, body, headers, SECONDS);
  stop();
  return { ...small, bigRecordsPerSecond: await load };
}

const fmt = (r: Result) =>
  `${Math.round(r.rps).toLocaleString('en-US').padStart(6)} req/s  p50 ${String(r.p50).padStart(4)} ms  p99 ${String(r.p99).padStart(4)} ms${r.bigRecordsPerSecond ? `  large: ${Math.round(r.bigRecordsPerSecond).toLocaleString('en-US')} records/s` : ''}${r.bad ? `  (${r.bad} failed!)` : ''}`;

async function main() {
  const pgdb = await createPostgresDatabase();
  const database = await openDatabase({ url: pgdb.url, poolSize: 10 });
  try {
    await database.migrate();
    const db = database.db;
    const { ctx, projectId } = await benchProject(db, 'Scoring');
    await uploadDataset({ ctx, input: { projectId, name: 'credit', environment: 'design' }, csv: createReadStream(sharedDataFile('credit_data.csv')) });
    const spec = { algorithm: 'gradient_boosted_trees', target: 'status', positiveClass: 'bad', params: { maxIter: 100, earlyStopping: false } } as const;
    await trainModelVersion({ ctx, input: { projectId, modelName: 'trees', dataset: 'credit', spec } });
    await createEndpoint({ ctx: { ...ctx, actor: { type: 'system', name: 'bench' } }, input: { projectId, name: 'bench-trees', model: 'trees', description: '' } });
    const key = await createApiKey({ ctx, input: { projectId, name: 'trees', scopes: ['score:bench-trees'] } });
    // 10,000 credit records are about 1.7 MB of JSON, over the default body limit.
    const app = await buildApp({ db, driver: 'postgres', role: 'api', bodyLimit: 8 * 1024 * 1024 });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const a = app.server.address();
    const url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/api/v1/endpoints/bench-trees/predict`;
    const headers = { authorization: `Bearer ${key.secret}` };
    const runtime = scoringRuntime(db);
    runtime.predictionLog.enabled = false; // the pool, not the log, is measured here

    console.log(`one-record predicts (10 connections, ${SECONDS} s) while ${BIG_CLIENTS} clients send ${BIG_RECORDS.toLocaleString('en-US')}-record requests; 100-tree model; best of ${ROUNDS} rounds`);
    const phases = [
      { label: 'one-record alone        ', big: false, pool: true },
      { label: 'with large, pool        ', big: true, pool: true },
      { label: 'with large, main thread ', big: true, pool: false },
    ];
    const best: (Result | null)[] = phases.map(() => null);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, p] of phases.entries()) {
        runtime.pool.enabled = p.pool;
        const r = await phase(url, headers, p.big);
        const b = best[i];
        best[i] = b ? { rps: Math.max(b.rps, r.rps), p50: Math.min(b.p50, r.p50), p99: Math.min(b.p99, r.p99), bad: b.bad + r.bad, bigRecordsPerSecond: Math.max(b.bigRecordsPerSecond, r.bigRecordsPerSecond) } : r;
      }
    }
    runtime.pool.enabled = true;
    const [alone, pooled, mainThread] = best as [Result, Result, Result];
    for (const [i, p] of phases.entries()) console.log(`  ${p.label}${fmt(best[i]!)}`);
    const ratio = (x: number, y: number) => (y ? (x / y).toFixed(2) : 'n/a');
    console.log(`  p99 with large requests / alone: pool ${ratio(pooled.p99, alone.p99)}x, main thread ${ratio(mainThread.p99, alone.p99)}x`);
    console.log(`  one-record throughput with large requests / alone: pool ${ratio(pooled.rps, alone.rps)}x, main thread ${ratio(mainThread.rps, alone.rps)}x`);
    await app.close();
  } finally {
    await disposeBenchDatabase(database, pgdb);
  }
}

await main();
