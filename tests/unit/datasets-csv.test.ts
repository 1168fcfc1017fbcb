import { describe, expect, it } from 'vitest';
import { accepts, csvField, TypeInference } from '@/server/domain/column-types';
import { normaliseHeaders, startCsvLoad } from '@/server/services/datasets/csv-load';

async function* chunks(text: string, size = 7) {
  for (let i = 0; i < text.length; i += size) yield Buffer.from(text.slice(i, i + size));
}
async function load(text: string, types?: Record<string, 'integer' | 'numeric' | 'boolean' | 'timestamp' | 'text'>) {
  const l = await startCsvLoad(chunks(text), { types });
  let csv = '';
  for await (const b of l.batches()) csv += b.csv.toString('utf8');
  return { csv, ...l.stats(), lineOfRow: l.lineOfRow };
}
const rejection = (p: Promise<unknown>) => p.then(() => 'loaded', (e: Error) => e.message);

describe('column types', () => {
  it('infers the narrowest type that fits every sample value', () => {
    const infer = (...values: string[]) => {
      const i = new TypeInference();
      for (const v of values) i.observe(v);
      return i.result();
    };
    expect(infer('1', '-2', '+3')).toBe('integer');
    expect(infer('1', '2.5', '1e3')).toBe('numeric');
    expect(infer('yes', 'No', 'TRUE', 'f')).toBe('boolean');
    expect(infer('0', '1')).toBe('integer');
    expect(infer('2024-01-05', '2024-01-05 10:00:00', '2024-01-05T10:00:00Z')).toBe('timestamp');
    expect(infer('2024-02-30')).toBe('text');
    expect(infer('12345678901234567890')).toBe('numeric');
    expect(infer()).toBe('text');
    expect(infer('a', '1')).toBe('text');
  });

  it('checks values strictly, calendar included', () => {
    expect(accepts('timestamp', '2024-02-29')).toBe(true);
    expect(accepts('timestamp', '2023-02-29')).toBe(false);
    expect(accepts('timestamp', '1900-02-29')).toBe(false);
    expect(accepts('timestamp', '2000-02-29 23:59:59')).toBe(true);
    expect(accepts('timestamp', '2000-01-01 24:00:00')).toBe(false);
    expect(accepts('timestamp', '2000-01-01 10:00:00.123+02:00')).toBe(true);
    expect(accepts('integer', '9223372036854775807')).toBe(true);
    expect(accepts('integer', '9223372036854775808')).toBe(false);
    expect(accepts('numeric', '1e400')).toBe(false);
    expect(accepts('boolean', '1')).toBe(true);
    expect(csvField('text', 'say "hi", then\nleave')).toBe('"say ""hi"", then\nleave"');
    expect(csvField('boolean', 'Yes')).toBe('t');
    expect(csvField('integer', '+5')).toBe('5');
  });

  it('turns headers into lowercase identifiers, unique', () => {
    expect(normaliseHeaders(['Status', 'Home Owner', '2nd', '', 'status', 'Amount ($)'])).toEqual(['status', 'home_owner', 'c_2nd', 'column_4', 'status_2', 'amount']);
  });
});

describe('streaming CSV for COPY', () => {
  it('reads NA and empty as NULL, quotes text, and records which columns had nulls', async () => {
    const r = await load('id,name,score\n1,"Ann",NA\n2,,3.5\n');
    expect(r.csv).toBe('1,"Ann",\n2,,3.5\n');
    expect(r.columns).toEqual([
      { name: 'id', type: 'integer', nullable: false },
      { name: 'name', type: 'text', nullable: true },
      { name: 'score', type: 'numeric', nullable: true },
    ]);
    expect(r.rows).toBe(2);
  });

  it("keeps each boolean column's spelling as written and each header that normalising changed", async () => {
    const r = await load('Customer ID,Churned,Active,flag\n1,No,TRUE,y\n2,Yes,FALSE,\n3,No,TRUE,y\n');
    expect(r.csv).toBe('1,f,t,t\n2,t,f,\n3,f,t,t\n');
    expect(r.columns).toEqual([
      { name: 'customer_id', header: 'Customer ID', type: 'integer', nullable: false },
      { name: 'churned', header: 'Churned', type: 'boolean', nullable: false, booleanWords: ['Yes', 'No'] },
      { name: 'active', header: 'Active', type: 'boolean', nullable: false, booleanWords: ['TRUE', 'FALSE'] },
      // Only "y" seen: its partner in the same style.
      { name: 'flag', type: 'boolean', nullable: true, booleanWords: ['y', 'n'] },
    ]);
  });

  it('counts file lines across quoted newlines, blank lines and CRLF', async () => {
    const text = 'id,note\r\n1,"two\nlines"\r\n\r\n2,ok\r\n3,"a\nb\nc"\r\n4,x\r\n';
    const r = await load(text);
    expect(r.rows).toBe(4);
    expect([0, 1, 2, 3].map((i) => r.lineOfRow(i))).toEqual([2, 5, 6, 9]);
    expect(await rejection(load('id,note\n1,"two\nlines"\n\nx,ok\n', { id: 'integer' }))).toBe('line 5, column 1 (id): "x" is not an integer');
  });

  it('names the line and column of ragged rows and bad quoting', async () => {
    expect(await rejection(load('a,b\n1,2\n3\n'))).toBe('line 3, column 2 (b): missing value: the header has 2 columns, this row 1');
    expect(await rejection(load('a,b\n1,2\n3,4,5\n'))).toBe('line 3, column 3: extra value: the header has 2 columns, this row 3');
    expect(await rejection(load('a,b\n1,2\n3,"4\n'))).toMatch(/^line 3: Quote Not Closed/);
    expect(await rejection(load('a,b\n1,"x"y\n'))).toMatch(/^line 2: Invalid Closing Quote/);
    expect(await rejection(load(''))).toBe('line 1: the file is empty: the first line must name the columns');
  });

  it('stops reading past the size limit', async () => {
    const big = 'a,b\n' + '1,2\n'.repeat(10_000);
    const l = startCsvLoad(chunks(big, 1024), { maxBytes: 20_000 }).then(async (x) => {
      for await (const _ of x.batches());
    });
    await expect(l).rejects.toThrow('the file is larger than the upload limit of 20 KB');
  });
});

describe('the upload dialog suggests what the server infers', () => {
  it('names and types the columns of a file the way the upload does, on the credit data and on awkward values', async () => {
    const { readFileSync } = await import('node:fs');
    const { sniffCsvText } = await import('@/app/_components/datasets/csv-sniff');
    const { creditDataCsv } = await import('../helpers/datasets');
    const awkward = 'Id,Flag,When,Amount,Big,Note,Empty\n1,yes,2024-02-29,1.5e3,9223372036854775808,a,\n2,no,2024-03-01 10:00:00,-2,1,b,NA\n';
    for (const text of [readFileSync(creditDataCsv, 'utf8'), awkward]) {
      const sniffed = sniffCsvText(text, true);
      const loaded = await startCsvLoad(chunks(text, 65_536));
      expect(sniffed.columns.map((c) => [c.name, c.type])).toEqual(loaded.columns.map((c) => [c.name, c.type]));
    }
    expect(sniffCsvText(awkward, true).columns.map((c) => c.type)).toEqual(['integer', 'boolean', 'timestamp', 'numeric', 'numeric', 'text', 'text']);
  });
});
