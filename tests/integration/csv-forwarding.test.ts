import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatasetColumnType } from '@/db/schema';
import { pgTypeOf } from '@/server/domain/column-types';
import { startCsvLoad } from '@/server/services/datasets/csv-load';
import { createPostgresDatabase, drivers } from '../helpers/db';

type Types = Record<string, DatasetColumnType>;
type Loaded = { headers: string[]; rows: (string | null)[][]; lines: number[] } | string;

async function* chunks(text: string, size: number) {
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

/**
 * Rows inside the inference sample are rewritten field by field; rows past it are checked as bytes
 * and go to COPY as written wherever Postgres reads them as we do. Each file here is loaded both
 * ways into real Postgres, and the tables must be the same (and what the test says).
 */
describe.each(drivers)('rows past the inference sample go to COPY as written and load as the sample rows do, on %s', (driver) => {
  let server: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let client: pg.Client;
  let tables = 0;

  beforeAll(async () => {
    server = await createPostgresDatabase(driver);
    client = new pg.Client({ connectionString: server.url });
    await client.connect();
    await client.query(`SET timezone = 'UTC'`);
  });
  afterAll(async () => {
    await client?.end();
    await server?.drop();
  });

  /** The table COPY makes of the file (values as Postgres prints them) and each row's file line, or the error. */
  async function load(text: string, types: Types, sampleRows: number, chunk: number): Promise<Loaded> {
    try {
      const csv = await startCsvLoad(chunks(text, chunk), { types, sampleRows, batchBytes: 40 });
      const table = `t_${tables++}`;
      await client.query(`CREATE TABLE ${table} (${csv.columns.map((c) => `"${c.name}" ${pgTypeOf[c.type]}`).join(', ')})`);
      await pipeline(
        Readable.from(
          (async function* () {
            for await (const b of csv.batches()) yield b.csv;
          })(),
        ),
        client.query(copyFrom(`COPY ${table} FROM STDIN WITH (FORMAT csv)`)),
      );
      const { rows } = await client.query<Record<string, unknown>>(`SELECT * FROM ${table} ORDER BY ctid`);
      const stats = csv.stats();
      expect(rows.length, 'rows COPY loaded').toBe(stats.rows);
      return {
        headers: csv.headers,
        rows: rows.map((r) => csv.columns.map((c) => (r[c.name] === null ? null : r[c.name] instanceof Date ? (r[c.name] as Date).toISOString() : String(r[c.name])))),
        lines: rows.map((_, i) => csv.lineOfRow(i)),
      };
    } catch (err) {
      return (err as Error).message;
    }
  }

  /** The file loaded with every row rewritten and with all but the first forwarded, in chunks of several sizes: the same each time. */
  async function both(text: string, types: Types): Promise<Loaded> {
    const rewritten = await load(text, types, 1_000_000, 7);
    for (const chunk of [1, 5, 64 * 1024]) expect([chunk, await load(text, types, 1, chunk)]).toEqual([chunk, rewritten]);
    return rewritten;
  }

  it('reads NA and quoted empty fields as NULL, quoted or not, and keeps " NA" as text', async () => {
    const r = await both('id,name,n\n0,x,1\n1,NA,NA\n2,"",""\n3,"NA","NA"\n4,,\n5," NA",7\n', { id: 'integer', name: 'text', n: 'integer' });
    expect(r).toMatchObject({
      rows: [
        ['0', 'x', '1'],
        ['1', null, null],
        ['2', null, null],
        ['3', null, null],
        ['4', null, null],
        ['5', ' NA', '7'],
      ],
    });
    // A one-column row of NA: without its line end, the last line would be nothing at all.
    expect(await both('n\n1\nNA', { n: 'integer' })).toMatchObject({ rows: [['1'], [null]] });
    expect(await both('n\n1\n""', { n: 'integer' })).toMatchObject({ rows: [['1']] });
  });

  it('reads boolean words, signs, leading zeros, bare decimal points and quoted numbers as the sample does', async () => {
    const r = await both('b,i,x\nt,1,1\nyes,+5,+1.5\nNo,007,1.\nTRUE,"42",.5\nf,-0,"2e3"\nY,0,-.5\n0,1,1E-2\n1,9223372036854775807,3\n', { b: 'boolean', i: 'integer', x: 'numeric' });
    expect(r).toMatchObject({
      rows: [
        ['true', '1', '1'],
        ['true', '5', '1.5'],
        ['false', '7', '1'],
        ['true', '42', '0.5'],
        ['false', '0', '2000'],
        ['true', '0', '-0.5'],
        ['false', '1', '0.01'],
        ['true', '9223372036854775807', '3'],
      ],
    });
  });

  it('reads timestamps as written, in UTC unless they carry an offset', async () => {
    const r = await both('ts\n2024-01-01\n2024-02-29 10:00:00\n2024-02-29T10:00:00Z\n2024-03-01 10:00:00.5+02:00\n2024-03-01T10:00\n', { ts: 'timestamp' });
    expect(r).toMatchObject({ rows: [['2024-01-01T00:00:00.000Z'], ['2024-02-29T10:00:00.000Z'], ['2024-02-29T10:00:00.000Z'], ['2024-03-01T08:00:00.500Z'], ['2024-03-01T10:00:00.000Z']] });
  });

  it('keeps the file’s own line end (CRLF, CR) on rewritten rows, with quoted line ends and blank lines between', async () => {
    for (const eol of ['\r\n', '\r']) {
      const text = ['a,b', 'NA,"x\r\ny"', '2,NA', '', '3,"q""uote, comma"', '4,""', '5,z'].join(eol) + eol;
      const r = await both(text, { a: 'integer', b: 'text' });
      expect(r).toMatchObject({
        rows: [
          [null, 'x\r\ny'],
          ['2', null],
          ['3', 'q"uote, comma'],
          ['4', null],
          ['5', 'z'],
        ],
      });
    }
  });

  it('quotes a line end that is field text (not the file’s line end) for COPY', async () => {
    expect(await both('a,b\r\n1,x\ny\r\n2,z\r\n', { a: 'integer', b: 'text' })).toMatchObject({
      rows: [
        ['1', 'x\ny'],
        ['2', 'z'],
      ],
      lines: [2, 4],
    });
    expect(await both('a,b\r1,x\ny\r2,z\r3,w\r', { a: 'integer', b: 'text' })).toMatchObject({
      rows: [
        ['1', 'x\ny'],
        ['2', 'z'],
        ['3', 'w'],
      ],
    });
    expect(await both('a,b\n1,x\n2,y\r\n3,z\n', { a: 'integer', b: 'text' })).toMatchObject({
      rows: [
        ['1', 'x'],
        ['2', 'y\r'],
        ['3', 'z'],
      ],
    });
  });

  it('reads a lone \\. as a value, not as the end of the data', async () => {
    const r = await both('note\nfirst\n\\.\nafter\n"\\."\n', { note: 'text' });
    expect(r).toMatchObject({ rows: [['first'], ['\\.'], ['after'], ['\\.']] });
  });

  it('keeps text as written: spaces, quotes, commas, backslashes, multi-byte characters cut by chunks, a BOM, no last line end', async () => {
    const r = await both('\ufeffname,n\n  a  ,1\n"b ""c"", d",2\nback\\slash\\N,3\nzoë 😀,4\n"line\nbreak",5', { name: 'text', n: 'integer' });
    expect(r).toMatchObject({
      headers: ['name', 'n'],
      rows: [
        ['  a  ', '1'],
        ['b "c", d', '2'],
        ['back\\slash\\N', '3'],
        ['zoë 😀', '4'],
        ['line\nbreak', '5'],
      ],
      lines: [2, 3, 4, 5, 6],
    });
  });

  it('refuses what Postgres would read but the column type does not allow, naming the same line and column as in the sample', async () => {
    const types: Types = { i: 'integer', x: 'numeric', b: 'boolean', ts: 'timestamp' };
    const good = 'i,x,b,ts\n1,1.5,yes,2024-01-01\n\n2,2,no,2024-01-02\n';
    const bad = [
      ' 5,1,t,2024-01-01',
      '9223372036854775808,1,t,2024-01-01',
      '-00000000000000000009223372036854775809,1,t,2024-01-01',
      `1,${'9'.repeat(400)},t,2024-01-01`,
      '1_000,1,t,2024-01-01',
      '0x10,1,t,2024-01-01',
      '1,NaN,t,2024-01-01',
      '1,Infinity,t,2024-01-01',
      '1,1e400,t,2024-01-01',
      '1, 2,t,2024-01-01',
    ];
    bad.push(
      '1,1,on,2024-01-01',
      '1,1,tru,2024-01-01',
      '1,1,t,now',
      '1,1,t,epoch',
      '1,1,t,2024-02-30',
      '1,1,t, 2024-01-01',
      '1,2,"t""",2024-01-01',
      '1,2',
      '1,2,t,2024-01-01,x',
      '1,"2"x,t,2024-01-01',
      '1,2"x,t,2024-01-01',
      '1,"2',
    );
    for (const row of bad) {
      const rewritten = await load(good + row + '\n', types, 1_000_000, 7);
      expect(typeof rewritten, row).toBe('string');
      expect([row, await load(good + row + '\n', types, 1, 5)]).toEqual([row, rewritten]);
    }
    expect(await load(good + '1,1,on,2024-01-01\n', types, 1, 5)).toBe('line 5, column 3 (b): "on" is not a boolean (true/false, yes/no, t/f, 1/0)');
  });

  it('loads seeded random files of awkward spellings the same both ways', async () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const spellings: Record<DatasetColumnType, string[]> = {
      integer: ['1', '+2', '-3', '007', '"8"', 'NA', '', '""', '"NA"'],
      numeric: ['1.5', '+.5', '1.', '-0', '1e3', '"2.5"', 'NA', '', '""'],
      boolean: ['t', 'F', 'Yes', 'no', 'TRUE', 'false', 'y', 'N', '1', '0', '"yes"', 'NA', ''],
      timestamp: ['2024-01-31', '2024-02-29 23:59:59', '2024-01-01T00:00:00Z', '"2024-05-05"', 'NA', ''],
      text: ['a', ' b ', '"c,d"', '"e""f"', '"g\nh"', '"\r\n"', 'NA', '""', '"NA"', '', 'é', '\\.', '\\N', 'NULL'],
    };
    const kinds = Object.keys(spellings) as DatasetColumnType[];
    for (let file = 0; file < 30; file++) {
      const width = 1 + rand(4);
      const types: Types = {};
      for (let c = 0; c < width; c++) types[`c${c}`] = kinds[rand(kinds.length)]!;
      const eol = ['\n', '\r\n', '\r'][rand(3)]!;
      const lines = [Object.keys(types).join(',')];
      for (let row = 0; row < 30; row++) {
        if (rand(10) === 0) lines.push('');
        lines.push(
          Object.values(types)
            .map((t) => spellings[t][rand(spellings[t].length)])
            .join(','),
        );
      }
      const text = lines.join(eol) + (rand(2) ? eol : '');
      const r = await both(text, types);
      expect([text, typeof r === 'string' ? r : 'loaded']).toEqual([text, 'loaded']);
    }
  });
});
