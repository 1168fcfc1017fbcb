/**
 * CSV upload throughput: a generated 1M-row file through our upload path (type inference on a sample,
 * every row checked in Node and its bytes forwarded as written where Postgres reads them as we do,
 * COPY FROM STDIN into a staging table, profile, rename, metadata and audit in one transaction) against a bare `COPY ... FROM STDIN (FORMAT csv, HEADER)` of the same file into the
 * same table shape, on the same server in the same run: the Postgres server at 127.0.0.1:5432, then
 * the embedded PostgreSQL server (`npm start`'s default).
 *
 *   npx tsx bench/datasets.ts [rows]        (default 1,000,000; or --rows N)
 *
 * Records its ratios for the aims table (bench/aims.ts: csv-copy; throughput ours / bare = bare s / our s).
 */
import { createReadStream, createWriteStream, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { openDatabase, type Database } from '../db/client';
import type { Actor, UserId } from '../server/services/context';
import { signUp } from '../server/services/auth/sign-up';
import { createTeam } from '../server/services/teams/create-team';
import { createProject } from '../server/services/projects/create-project';
import { uploadDataset } from '../server/services/datasets/upload-dataset';
import { closeSandboxPools } from '../server/services/datasets/sql-sandbox';
import { createPostgresDatabase, drivers } from '../tests/helpers/db';
import { stopOwnEmbeddedPostgres } from '../tests/helpers/embedded-postgres';
import { numberOption, recordAims } from './aims';

const ROWS = numberOption('rows', 0, 1_000_000);
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
        chunk.push(
          `${i},${((i * 7919) % 100000) / 100},${categories[i % 5]},${i % 3 === 0 ? 'true' : 'false'},2024-03-${day} ${String(i % 24).padStart(2, '0')}:15:00,${(i * 31) % 1000},"row ${i}, ok"\n`,
        );
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

const fmt = (seconds: number) => `${seconds.toFixed(2)} s, ${Math.round(ROWS / seconds).toLocaleString('en-US')} rows/s`;

async function main() {
  const tGen = performance.now();
  await generate(ROWS);
  const mb = statSync(fileOf(ROWS)).size / 1024 / 1024;
  console.log(`generated ${ROWS.toLocaleString('en-US')} rows, ${mb.toFixed(1)} MB, 7 columns, in ${((performance.now() - tGen) / 1000).toFixed(1)} s`);

  for (const driver of drivers) {
    const server = await createPostgresDatabase(driver);
    const database = await openDatabase({ url: server.url, poolSize: 4, driver });
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
      const label = driver.padEnd(9);
      console.log(`${label} bare COPY FROM STDIN : ${fmt(b)}`);
      console.log(`${label} our upload           : ${fmt(o)}`);
      console.log(`${label} ratio (ours / bare)  : ${(o / b).toFixed(2)}x`);
      recordAims('datasets', 'csv-copy', { [driver]: b / o }, `${ROWS.toLocaleString('en-US')} rows, best of 2`);
    } finally {
      await closeSandboxPools(database.db);
      const roles = (await database.query('select role_name from project_storage')).map((r) => String(r.role_name));
      await database.close();
      await server.drop();
      const adminUrl = new URL(server.url);
      adminUrl.pathname = '/postgres';
      const admin = new pg.Client({ connectionString: adminUrl.toString() });
      await admin.connect();
      for (const role of roles) await admin.query(`drop role if exists "${role}"`);
      await admin.end();
    }
  }
  await stopOwnEmbeddedPostgres();
}

await main();
