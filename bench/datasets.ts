/**
 * CSV upload throughput: a generated 1M-row file through our upload path (csv-parse, type inference
 * and validation in Node, COPY FROM STDIN into a staging table, rename, metadata and audit in one
 * transaction) against a bare `COPY ... FROM STDIN (FORMAT csv, HEADER)` of the same file into the
 * same table shape, on the same Postgres server in the same run. PGlite (embedded) is printed for
 * reference, against its own bare COPY through /dev/blob.
 *
 *   npx tsx bench/datasets.ts [rows]
 */
import { createReadStream, createWriteStream, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { openDatabase, type Database } from '../db/client';
import type { Actor, UserId } from '../server/services/context';
import { signUp } from '../server/services/auth/sign-up';
import { createTeam } from '../server/services/teams/create-team';
import { createProject } from '../server/services/projects/create-project';
import { uploadDataset } from '../server/services/datasets/upload-dataset';
import { closeSandboxPools } from '../server/services/datasets/sql-sandbox';
import { createPostgresDatabase } from '../tests/helpers/db';

const ROWS = Number(process.argv[2] ?? 1_000_000);
/** PGlite's COPY is ~20x slower than a server's: a tenth of the rows keeps the run under a minute. */
const PGLITE_ROWS = Math.min(ROWS, 100_000);
const outDir = path.join(import.meta.dirname, '.out');
const fileOf = (rows: number) => path.join(outDir, `upload-${rows}.csv`);
const TABLE_SQL = 'id bigint, amount double precision, category text, flag boolean, created_at timestamptz, score bigint, note text';

async function generate(rows: number): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  const categories = ['alpha', 'beta', 'gamma', 'delta', 'NA'];
  const out = createWriteStream(fileOf(rows));
  await pipeline(
    (function* () {
      yield 'id,amount,category,flag,created_at,score,note\n';
      const chunk: string[] = [];
      for (let i = 0; i < rows; i++) {
        const day = String((i % 28) + 1).padStart(2, '0');
        chunk.push(`${i},${((i * 7919) % 100000) / 100},${categories[i % 5]},${i % 3 === 0 ? 'true' : 'false'},2024-03-${day} ${String(i % 24).padStart(2, '0')}:15:00,${(i * 31) % 1000},"row ${i}, ok"\n`);
        if (chunk.length === 10_000) {
          yield chunk.join('');
          chunk.length = 0;
        }
      }
      if (chunk.length) yield chunk.join('');
    })(),
    out,
  );
}

async function bareCopyPostgres(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('drop table if exists bare_copy');
    await client.query(`create table bare_copy (${TABLE_SQL})`);
    const t0 = performance.now();
    await pipeline(createReadStream(fileOf(ROWS)), client.query(copyFrom(`COPY bare_copy FROM STDIN WITH (FORMAT csv, HEADER true, NULL 'NA')`)));
    return (performance.now() - t0) / 1000;
  } finally {
    await client.end();
  }
}

async function bareCopyPglite(database: Database): Promise<number> {
  const client = (database.db as unknown as { $client: PGlite }).$client;
  await client.exec(`drop table if exists bare_copy; create table bare_copy (${TABLE_SQL})`);
  const t0 = performance.now();
  // PGlite's COPY reads a Blob: the whole file in memory, which our upload path never does.
  await client.query(`COPY bare_copy FROM '/dev/blob' WITH (FORMAT csv, HEADER true, NULL 'NA')`, [], { blob: new Blob([readFileSync(fileOf(PGLITE_ROWS))]) });
  return (performance.now() - t0) / 1000;
}

async function ourUpload(database: Database, name: string, rows: number): Promise<number> {
  const ctx = { db: database.db, actor: null as Actor | null, requestId: null, clientIp: null };
  const { user } = await signUp({ ctx, input: { email: `bench-${name}-${Date.now()}@example.com`, name: 'Bench', password: 'bench bench bench' } });
  ctx.actor = { type: 'user', userId: user.id as UserId, email: user.email, name: user.name };
  const team = await createTeam({ ctx, input: { name: 'Bench' } });
  const project = await createProject({ ctx, input: { teamId: team.id, name: `Bench ${name}`, description: '' } });
  const t0 = performance.now();
  const r = await uploadDataset({ ctx, input: { projectId: project.id, name, environment: 'design' }, csv: createReadStream(fileOf(rows)) });
  const seconds = (performance.now() - t0) / 1000;
  if (r.rows !== rows) throw new Error(`uploaded ${r.rows} rows, expected ${rows}`);
  return seconds;
}

const fmt = (seconds: number, rows = ROWS) => `${seconds.toFixed(2)} s, ${Math.round(rows / seconds).toLocaleString('en-US')} rows/s`;

async function main() {
  const tGen = performance.now();
  await generate(ROWS);
  if (PGLITE_ROWS !== ROWS) await generate(PGLITE_ROWS);
  const mb = statSync(fileOf(ROWS)).size / 1024 / 1024;
  console.log(`generated ${ROWS.toLocaleString('en-US')} rows, ${mb.toFixed(1)} MB, 7 columns, in ${((performance.now() - tGen) / 1000).toFixed(1)} s`);

  const server = await createPostgresDatabase();
  const database = await openDatabase({ url: server.url, poolSize: 4 });
  try {
    await database.migrate();
    // Alternate, best of two each: the first pass also warms the server's caches for both.
    const bare: number[] = [];
    const ours: number[] = [];
    for (let i = 0; i < 2; i++) {
      bare.push(await bareCopyPostgres(server.url));
      ours.push(await ourUpload(database, `bench_${i}`, ROWS));
    }
    const b = Math.min(...bare);
    const o = Math.min(...ours);
    console.log(`postgres  bare COPY FROM STDIN : ${fmt(b)}`);
    console.log(`postgres  our upload           : ${fmt(o)}`);
    console.log(`postgres  ratio (ours / bare)  : ${(o / b).toFixed(2)}x`);
  } finally {
    await closeSandboxPools(database.db);
    const roles = (await database.query('select role_name from project_storage')).map((r) => String(r.role_name));
    await database.close();
    await server.drop();
    const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
    await admin.connect();
    for (const role of roles) await admin.query(`drop role if exists "${role}"`);
    await admin.end();
  }

  const lite = await openDatabase({ dataDir: 'memory://' });
  try {
    await lite.migrate();
    const b = await bareCopyPglite(lite);
    const o = await ourUpload(lite, 'bench_lite', PGLITE_ROWS);
    console.log(`pglite    ${PGLITE_ROWS.toLocaleString('en-US')} rows, bare COPY (one blob) : ${fmt(b, PGLITE_ROWS)}`);
    console.log(`pglite    ${PGLITE_ROWS.toLocaleString('en-US')} rows, our upload           : ${fmt(o, PGLITE_ROWS)}`);
    console.log(`pglite    ratio (ours / bare)  : ${(o / b).toFixed(2)}x`);
  } finally {
    await lite.close();
  }
}

await main();
