/**
 * The upload's CSV reader at the byte level: the records, errors and error lines of the string reader
 * it replaced (tests/helpers/csv-record-parser.ts, which reads what csv-parse read with `{ bom: true,
 * relax_column_count: true }`), but as byte ranges of the input instead of strings, so that rows can
 * be checked and forwarded to COPY as they were written without a string or an array per row. A record is scanned from its start each time: when the data
 * ends inside one, the caller adds input and scans it again (csv-input.ts grows the input
 * geometrically, so a long record costs linear time).
 */

/** Bad quoting, with the file line csv-parse named (csv-load turns it into CsvRejected). */
export class CsvSyntaxError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
    this.name = 'CsvSyntaxError';
  }
}

const COMMA = 44;
const QUOTE = 34;
const CR = 13;
const LF = 10;

/** A field was quoted; its range is between the quotes. */
export const QUOTED = 1;
/** A quoted field holds `""`: its value is not its bytes. */
export const ESCAPED = 2;
/** An unquoted field holds a CR or LF that is not the record delimiter (field text). */
export const LINE_END = 4;

/** `next` needs more input to finish the record. */
export const MORE = -1;
/** The input is over: no record (a last line with nothing on it is none). */
export const END = -2;

/** One record's fields as byte ranges of the scanned buffer, reused from record to record. */
export class CsvFields {
  count = 0;
  start = new Int32Array(16);
  end = new Int32Array(16);
  flags = new Uint8Array(16);
  /** The record's first file line (line ends inside earlier records' fields count). */
  line = 0;
  /** LF bytes inside the fields: the file lines the record takes beyond its first. */
  newlines = 0;
  /** LF bytes inside quoted fields (the string reader counted only these for its error lines). */
  quotedNewlines = 0;
  /** The record ends with a record delimiter (not only the last one may lack it). */
  delimited = true;

  push(s: number, e: number, flags: number): void {
    const k = this.count++;
    if (k === this.start.length) {
      const grow = <T extends Int32Array | Uint8Array>(a: T, b: T) => (b.set(a), b);
      this.start = grow(this.start, new Int32Array(k * 2));
      this.end = grow(this.end, new Int32Array(k * 2));
      this.flags = grow(this.flags, new Uint8Array(k * 2));
    }
    this.start[k] = s;
    this.end[k] = e;
    this.flags[k] = flags;
  }

  /** Field k's value as a string. */
  text(b: Buffer, k: number): string {
    const v = b.toString('utf8', this.start[k]!, this.end[k]!);
    return this.flags[k]! & ESCAPED ? v.replaceAll('""', '"') : v;
  }

  /** A blank line: one empty field (skipped, as the record reader skipped `['']`). */
  get blank(): boolean {
    return this.count === 1 && this.start[0] === this.end[0];
  }
}

/** LF bytes in [from, to). A plain loop: indexOf would search past `to`, to the end of the buffer when a file has no LF at all. */
function countLf(b: Buffer, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if (b[i] === LF) n++;
  return n;
}

export class CsvScanner {
  /** The record delimiter, once the first unquoted line end has shown it. */
  delimiter: '' | '\n' | '\r\n' | '\r' = '';
  /** The string reader's line: record delimiters plus LFs inside quoted fields (syntax errors name it). */
  private line = 1;
  /** The record reader's line: one per record plus the LFs inside fields. */
  private recordLine = 1;

  /**
   * Scans the record at `at` into `f`; returns the offset after it (and its delimiter), MORE when
   * `b` ends inside it (unless `final`), END when `final` and nothing is left. Throws CsvSyntaxError.
   */
  next(b: Buffer, at: number, final: boolean, f: CsvFields): number {
    const n = b.length;
    if (at >= n) return final ? END : MORE;
    f.count = 0;
    f.newlines = 0;
    f.quotedNewlines = 0;
    let i = at;
    for (;;) {
      i = b[i] === QUOTE ? this.quoted(b, i, final, f) : this.unquoted(b, i, final, f);
      if (i < 0) return i;
      if (i >= n) {
        if (!final) return MORE;
        this.commit(f, false);
        return n;
      }
      if (b[i] === COMMA) {
        i++;
        continue;
      }
      const d = this.delimiterAt(b, i, final);
      this.commit(f, true);
      return i + d;
    }
  }

  private commit(f: CsvFields, delimited: boolean): void {
    f.delimited = delimited;
    f.line = this.recordLine;
    this.recordLine += 1 + f.newlines;
    this.line += 1 + f.quotedNewlines;
  }

  /** An unquoted field from `i`; returns where it stops (a comma, the delimiter, the end) or MORE. */
  private unquoted(b: Buffer, i: number, final: boolean, f: CsvFields): number {
    const s = i;
    const n = b.length;
    let flags = 0;
    for (; i < n; i++) {
      const c = b[i]!;
      // Digits, letters and most punctuation sort above every byte that matters here.
      if (c > COMMA) continue;
      if (c === COMMA) break;
      if (c === QUOTE) {
        const value = b.toString('utf8', s, i);
        throw new CsvSyntaxError(
          this.line + f.quotedNewlines,
          `Invalid Opening Quote: a quote is found on field ${f.count} at line ${this.line + f.quotedNewlines}, value is ${JSON.stringify(value)}`,
        );
      }
      if (c === CR || c === LF) {
        const d = this.delimiterAt(b, i, final);
        if (d === MORE) return MORE;
        if (d > 0) break;
        flags = LINE_END;
        if (c === LF) f.newlines++;
      }
    }
    f.push(s, i, flags);
    return i;
  }

  /** A quoted field from its opening quote at `i`; returns the offset after its closing quote or MORE. */
  private quoted(b: Buffer, i: number, final: boolean, f: CsvFields): number {
    const n = b.length;
    const quoteLine = this.line + f.quotedNewlines;
    let flags = QUOTED;
    for (let j = i + 1; ;) {
      const q = b.indexOf(QUOTE, j);
      const lfs = countLf(b, j, q === -1 ? n : q);
      f.newlines += lfs;
      f.quotedNewlines += lfs;
      if (q === -1) {
        if (!final) return MORE;
        throw new CsvSyntaxError(quoteLine, 'Quote Not Closed: the parsing is finished with an opening quote');
      }
      if (q + 1 >= n && !final) return MORE;
      if (b[q + 1] === QUOTE) {
        flags |= ESCAPED;
        j = q + 2;
        continue;
      }
      if (q + 1 < n && b[q + 1] !== COMMA) {
        const d = this.delimiterAt(b, q + 1, final);
        if (d === MORE) return MORE;
        if (d === 0) {
          const line = this.line + f.quotedNewlines;
          const got = b.toString('utf8', q + 1, Math.min(n, q + 5))[0];
          throw new CsvSyntaxError(line, `Invalid Closing Quote: got "${got}" at line ${line} instead of delimiter, record delimiter, trimable character (if activated) or comment`);
        }
      }
      f.push(i + 1, q, flags);
      return q + 1;
    }
  }

  /** The length of the record delimiter at `i`, 0 if none, MORE if the data ends too soon to tell. */
  private delimiterAt(b: Buffer, i: number, final: boolean): number {
    const c = b[i];
    if (c !== CR && c !== LF) return 0;
    const d = this.delimiter;
    if (d === '\n') return c === LF ? 1 : 0;
    if (d === '\r') return c === CR ? 1 : 0;
    if (c === LF) {
      if (d === '') this.delimiter = '\n';
      return d === '' ? 1 : 0;
    }
    if (i + 1 >= b.length && !final) return MORE;
    if (b[i + 1] === LF) {
      this.delimiter = '\r\n';
      return 2;
    }
    if (d === '') {
      this.delimiter = '\r';
      return 1;
    }
    return 0;
  }
}
