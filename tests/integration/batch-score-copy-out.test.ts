import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CopyOutStream } from '@/server/services/models/copy-out';
import { createPostgresDatabase } from '../helpers/db';

const collect = async (stream: AsyncIterable<unknown>) => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
};

describe('COPY TO STDOUT on a Postgres server without a buffer per message', () => {
  let db: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let client: pg.Client;
  beforeAll(async () => {
    db = await createPostgresDatabase();
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
  });
  afterAll(async () => {
    await client.end();
    await db.drop();
  });

  it('reads the same bytes as pg-copy-streams, and the connection answers queries after it', async () => {
    const sql = `COPY (SELECT i, repeat('x', i % 300) AS s, i / 7.0 AS f FROM generate_series(1, 30000) i) TO STDOUT (FORMAT binary)`;
    const ours = client.query(new CopyOutStream(sql));
    const bytes = await collect(ours);
    expect(ours.rowCount).toBe(30_000);
    expect(bytes.equals(await collect(client.query(copyTo(sql))))).toBe(true);
    expect((await client.query('SELECT 41 + 1 AS n')).rows).toEqual([{ n: 42 }]);
  });

  it("fails with the server's error when the query fails mid-way, and the connection answers queries after it", async () => {
    const failing = client.query(new CopyOutStream(`COPY (SELECT i, 1 / (i - 20000) FROM generate_series(1, 30000) i) TO STDOUT (FORMAT binary)`));
    await expect(collect(failing)).rejects.toThrow('division by zero');
    expect((await client.query('SELECT 41 + 1 AS n')).rows).toEqual([{ n: 42 }]);
  });
});
