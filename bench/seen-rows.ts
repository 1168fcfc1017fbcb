/**
 * What remembering a model's training rows costs (server/ml/seen-rows.ts): reading a training table
 * through a cursor the way readDatasetTable does, with the whole-row `hashtext` column against
 * without it (the baseline, same table, same run); then building the digest of 80% of the rows and
 * filtering a 20% holdout against it in memory; and the digest's size.
 *
 *   npx tsx bench/seen-rows.ts [--rows 1000000]
 */
import pg from 'pg';
import { encodeSeenRows, seenRowSet, unseenRows } from '../server/ml/seen-rows';
import { createPostgresDatabase } from '../tests/helpers/db';

const i = process.argv.indexOf('--rows');
const ROWS = Number((i >= 0 ? process.argv[i + 1] : undefined) ?? 1_000_000);
const BATCH = 10_000;
const COLUMNS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];

async function read(client: pg.Client, withHashes: boolean): Promise<{ seconds: number; hashes: Int32Array | null }> {
  const hashes: number[] = [];
  const started = performance.now();
  await client.query('begin');
  const hashColumn = withHashes ? ', hashtext(ROW(sb_row.*)::text) AS "__sb_row_hash"' : '';
  await client.query(`declare sb_read no scroll cursor for select ${COLUMNS.map((c) => `${c}::float8 as ${c}`).join(', ')}, cat${hashColumn} from bench_rows as sb_row`);
  const values: Record<string, unknown[]> = Object.fromEntries([...COLUMNS, 'cat'].map((c) => [c, []]));
  for (;;) {
    const { rows } = await client.query(`fetch ${BATCH} from sb_read`);
    for (const c of [...COLUMNS, 'cat']) for (const r of rows) values[c]!.push(r[c]);
    if (withHashes) for (const r of rows) hashes.push(Number(r.__sb_row_hash));
    if (rows.length < BATCH) break;
  }
  await client.query('commit');
  return { seconds: (performance.now() - started) / 1000, hashes: withHashes ? Int32Array.from(hashes) : null };
}

async function main() {
  const database = await createPostgresDatabase();
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    await client.query(`create table bench_rows as select ${COLUMNS.map((c, k) => `(random() * ${10 ** (k % 4 + 1)})::numeric(12, 2) as ${c}`).join(', ')}, (array['a','b','c','d'])[1 + (g % 4)] as cat from generate_series(1, ${ROWS}) g`);
    await client.query('analyze bench_rows');
    await read(client, false); // warm the cache
    const plain = await read(client, false);
    const hashed = await read(client, true);
    const train = Uint32Array.from({ length: Math.floor(ROWS * 0.8) }, (_, k) => k);
    const holdout = Uint32Array.from({ length: ROWS - train.length }, (_, k) => train.length + k);
    const t0 = performance.now();
    const set = seenRowSet(hashed.hashes!, train);
    const t1 = performance.now();
    const unseen = unseenRows(set, hashed.hashes!, holdout);
    const t2 = performance.now();
    const bytes = encodeSeenRows(set).byteLength;
    console.log(`${ROWS.toLocaleString('en-US')} rows x ${COLUMNS.length + 1} columns, read through a cursor (${BATCH} rows a fetch), as training reads them:\n`);
    console.log('| what | seconds | ratio to the plain read |');
    console.log('| --- | ---: | ---: |');
    console.log(`| read (baseline) | ${plain.seconds.toFixed(2)} | 1.00x |`);
    console.log(`| read + row hashes | ${hashed.seconds.toFixed(2)} | ${(hashed.seconds / plain.seconds).toFixed(2)}x |`);
    console.log(`| digest of ${train.length.toLocaleString('en-US')} training rows (sort, distinct) | ${((t1 - t0) / 1000).toFixed(3)} | ${((t1 - t0) / 1000 / plain.seconds).toFixed(3)}x |`);
    console.log(`| holdout of ${holdout.length.toLocaleString('en-US')} rows filtered against it | ${((t2 - t1) / 1000).toFixed(3)} | ${((t2 - t1) / 1000 / plain.seconds).toFixed(3)}x |`);
    console.log(`\ndigest: ${set.length.toLocaleString('en-US')} distinct hashes, ${(bytes / 2 ** 20).toFixed(2)} MiB; ${holdout.length - unseen.length} holdout rows share a hash with a training row (collisions or duplicate rows; expected by chance ~${((holdout.length * set.length) / 2 ** 32).toFixed(0)})`);
  } finally {
    await client.end();
    await database.drop();
  }
}

await main();
