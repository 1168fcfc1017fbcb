/** Appending a CSV from the browser: its rows as the append route takes them, and its errors by line. */
import { describe, expect, it } from 'vitest';
import { inFileLines, rowsFromCsv } from '@/app/_components/datasets/append-csv';
import { validateRows } from '@/server/services/datasets/append-rows';

const columns = [
  { name: 'id', type: 'integer', nullable: false },
  { name: 'amount', type: 'numeric', nullable: true },
  { name: 'late', type: 'boolean', nullable: true },
  { name: 'city_name', type: 'text', nullable: true },
] as const;

describe('rows of a CSV file for the append route', () => {
  it('names columns as uploads do, reads NA and empty as missing, numbers as numbers in numeric columns', () => {
    const read = rowsFromCsv('id,Amount,late,City Name\n1,12.5,yes,"Paris, FR"\n2,NA,no,\n', [...columns]);
    expect(read.rows).toEqual([
      { id: '1', amount: 12.5, late: 'yes', city_name: 'Paris, FR' },
      { id: '2', amount: null, late: 'no', city_name: null },
    ]);
    expect(read.unknownColumns).toEqual([]);
    expect(read.missingColumns).toEqual([]);
    // The server's own check accepts them as they are.
    expect(validateRows([...columns], read.rows).problems).toEqual([]);
  });

  it('says which columns are not the dataset’s and which are missing; a bad number goes as written for the server to name', () => {
    const read = rowsFromCsv('id,amount,colour\n1,abc,red\n', [...columns]);
    expect(read.unknownColumns).toEqual(['colour']);
    expect(read.missingColumns).toEqual(['late', 'city_name']);
    const problems = validateRows([...columns], read.rows).problems;
    expect(problems.map((p) => p.field)).toEqual(['rows[0].colour', 'rows[0].amount']);
  });

  it('words the server’s row indexes as lines of the file (the header is line 1)', () => {
    expect(inFileLines('nothing was appended: rows[0].amount: expected a number, got "abc"; rows[11].id: is required')).toBe(
      'nothing was appended: line 2, column amount: expected a number, got "abc"; line 13, column id: is required',
    );
  });
});
