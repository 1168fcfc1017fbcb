import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { CsvRecordParser } from '@/server/services/datasets/csv-records';

/** The upload's own reader, fed in chunks of the given sizes; the records or the error message. */
function ours(text: string, sizes: number[]): string[][] | string {
  const p = new CsvRecordParser();
  const out: string[][] = [];
  try {
    let at = 0;
    for (let k = 0; at < text.length; k++) {
      const size = sizes[k % sizes.length]!;
      p.push(text.slice(at, at + size), out);
      at += size;
    }
    p.end(out);
    return out;
  } catch (err) {
    return `error: ${(err as Error).message.split(':')[0]}`;
  }
}
/** csv-parse, the library uploads used before, with the options they used: the expectation. */
function reference(text: string): string[][] | string {
  try {
    return parse(text, { bom: true, relax_column_count: true }) as string[][];
  } catch (err) {
    return `error: ${(err as Error).message.split(':')[0]}`;
  }
}

describe('the CSV record reader reads what csv-parse read', () => {
  it('on the shapes uploads meet, whatever the chunk boundaries', () => {
    const cases = [
      'a,b\n1,2\n',
      'a,b\n1,2',
      '\ufeffid,note\r\n1,"two\nlines"\r\n\r\n2,ok\r\n3,"a\nb\nc"\r\n4,x\r\n',
      'a,b\r1,2\r3,"x\r\ny"\r',
      'a,b\n1,"say ""hi"", then"\n2,""\n"",\n\n\n',
      'a,b\n1,x\r\n2,y\n',
      'a\n""',
      'a,b\n1,2\n3\n4,5,6\n,\n',
      'a,b\n1,2\n3,"4\n',
      'a,b\n1,"x"y\n',
      'a,b\n1,x"y\n',
      'a,b\n1, "x"\n',
      'a,b\r\n1,"x"\n2,3\r\n',
      '',
      '\n\n',
    ];
    for (const text of cases) {
      const expected = reference(text);
      for (const sizes of [[text.length || 1], [1], [2, 3], [7], [5, 1, 1]]) expect([text, sizes, ours(text, sizes)]).toEqual([text, sizes, expected]);
    }
  });

  it('on random files of commas, quotes and line ends', () => {
    // A fixed pseudo-random sequence: the same files every run.
    let seed = 15;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const alphabet = ['a', 'b', ',', '"', '""', '\n', '\r\n', '\r', ' ', 'NA', '1'];
    for (let f = 0; f < 400; f++) {
      let text = '';
      const length = rand(40);
      for (let i = 0; i < length; i++) text += alphabet[rand(alphabet.length)];
      const expected = reference(text);
      for (const sizes of [[1000], [1], [3, 2]]) expect([text, sizes, ours(text, sizes)]).toEqual([text, sizes, expected]);
    }
  });
});
