import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { CsvFields, CsvScanner, END, MORE, type CsvSyntaxError } from '@/server/services/datasets/csv-scanner';
import { CsvRecordParser } from '../helpers/csv-record-parser';

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

/** The byte scanner over the same text cut into chunks of the given sizes, read as the upload reads (rescanning a cut record): records or the error (message and line). */
function scanned(text: string, sizes: number[]): string[][] | string {
  const all = Buffer.from(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  const scanner = new CsvScanner();
  const f = new CsvFields();
  const out: string[][] = [];
  let data = Buffer.alloc(0);
  let at = 0;
  let k = 0;
  try {
    for (;;) {
      const final = at >= all.length;
      const end = scanner.next(data, 0, final, f);
      if (end === END) return out;
      if (end === MORE) {
        const size = sizes[k++ % sizes.length]!;
        data = Buffer.concat([data, all.subarray(at, at + size)]);
        at += size;
        continue;
      }
      out.push(Array.from({ length: f.count }, (_, i) => f.text(data, i)));
      data = data.subarray(end);
    }
  } catch (err) {
    return `error: ${(err as Error).message} @${(err as CsvSyntaxError).line}`;
  }
}
/** CsvRecordParser's records or error, message and line in full. */
function parsed(text: string): string[][] | string {
  const p = new CsvRecordParser();
  const out: string[][] = [];
  try {
    p.push(text, out);
    p.end(out);
    return out;
  } catch (err) {
    return `error: ${(err as Error).message} @${(err as CsvSyntaxError).line}`;
  }
}

describe('the byte scanner reads what the record reader read', () => {
  it('records, error messages and error lines, on the shapes above and on random files, whatever the chunk boundaries', () => {
    let seed = 21;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const alphabet = ['a', 'é', ',', '"', '""', '\n', '\r\n', '\r', ' ', 'NA', '1', '"x\ny"'];
    const files = [
      'a,b\n1,2\n',
      'a,b\n1,"x"y\n',
      'a,b\n\n1,"x\n\ny"z\n',
      'a,b\n1,x"y\n',
      'a,b\r\n1,"x"\n2,3\r\n',
      'a\n"b\n',
      '\ufeffa\n1',
      'a\n"x\ny"\n"z"w\n',
      'a\r\n"x\ny"\r\n1"\n',
      'a\r"x\ny"\r\n"open\n',
    ];
    for (let f = 0; f < 400; f++) {
      let text = '';
      const length = rand(40);
      for (let i = 0; i < length; i++) text += alphabet[rand(alphabet.length)];
      files.push(text);
    }
    for (const text of files) {
      const expected = parsed(text);
      for (const sizes of [[1000], [1], [3, 2]]) expect([text, sizes, scanned(text, sizes)]).toEqual([text, sizes, expected]);
    }
  });
});
