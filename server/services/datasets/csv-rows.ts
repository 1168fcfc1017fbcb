import type { DatasetColumnType } from '@/db/schema';
import { booleanWord } from '@/server/domain/boolean-words';
import { accepts, csvField, describeType, isNullCell } from '../../domain/column-types';
import type { BatchBytes } from './csv-batch-bytes';
import { acceptsBytes, booleanBytes } from './csv-byte-values';
import { ESCAPED, LINE_END, QUOTED, type CsvFields } from './csv-scanner';
import { CsvRejected } from './csv-problems';

/** A record as strings and its file line. */
export type Rec = { record: string[]; line: number };

/** A row with as many fields as the header has columns, else the CsvRejected naming the first missing or extra one. */
export function checkRowShape(names: string[], count: number, line: number): void {
  if (count === names.length) return;
  if (count < names.length) {
    throw new CsvRejected({ line, column: count + 1, columnName: names[count], message: `missing value: the header has ${names.length} columns, this row ${count}` });
  }
  throw new CsvRejected({ line, column: names.length + 1, message: `extra value: the header has ${names.length} columns, this row ${count}` });
}

const N = 78;
const A = 65;
const BACKSLASH = 92;
const DOT = 46;

/**
 * The bytes of one batch as they go to COPY: runs of the input as written, copied a run at a time
 * (not a row at a time), with the fields that must be rewritten replaced.
 */
export class ForwardSpan {
  /** Where the run not yet copied starts in the current input buffer. */
  from = 0;
  constructor(readonly bytes: BatchBytes) {}
  /** Replaces input bytes [s, e) with `text`. */
  replace(b: Buffer, s: number, e: number, text: string): void {
    this.bytes.addBytes(b, this.from, s);
    if (text) this.bytes.add(text);
    this.from = e;
  }
  /** Copies the run up to `at`. */
  flush(b: Buffer, at: number): void {
    this.bytes.addBytes(b, this.from, at);
    this.from = at;
  }
  /** The batch is full once the run up to `at` is in it. */
  full(at: number): boolean {
    return this.bytes.used + (at - this.from) >= this.bytes.batchBytes;
  }
}

/**
 * Checks rows against the column types and writes them for COPY, counting them, noting which columns
 * held NULLs, each boolean column's words and where rows stop being "header line + row index"
 * (multi-line fields, blank lines) for error lines. Two ways in: `encode` rewrites a row of strings
 * (the sample, read before the types were known); `forward` checks a row's bytes and leaves them as
 * written where Postgres reads them as we do (see acceptsBytes), rewriting only NULL spellings
 * Postgres would not read as NULL (NA, `""`) and text it would misread (a line end outside quotes,
 * a lone `\.`, its end-of-data marker).
 */
export class RowEncoder {
  rows = 0;
  readonly nullSeen: boolean[];
  /** Each boolean column's first true and false spelling, kept so models answer in the CSV's words. */
  readonly trueSeen: (string | undefined)[];
  readonly falseSeen: (string | undefined)[];
  /** Sparse: one entry where the line of a row stops following from the one before. */
  private readonly lineShifts: { row: number; delta: number }[] = [];
  private lastDelta = 0;

  constructor(
    private readonly names: string[],
    private readonly types: DatasetColumnType[],
    private readonly overrides: Map<string, DatasetColumnType>,
    private readonly sampled: number,
    private readonly headerLine: number,
    /** The file's record delimiter: COPY wants one kind of line end throughout. */
    readonly eol: string,
  ) {
    this.nullSeen = names.map(() => false);
    this.trueSeen = names.map(() => undefined);
    this.falseSeen = names.map(() => undefined);
  }

  /** The row as one CSV line for COPY (built by concatenation: no array per row). */
  encode(r: Rec): string {
    const { names, types } = this;
    checkRowShape(names, r.record.length, r.line);
    let line = '';
    for (let i = 0; i < names.length; i++) {
      const v = r.record[i]!;
      if (i > 0) line += ',';
      if (isNullCell(v)) {
        this.nullSeen[i] = true;
        continue;
      }
      const type = types[i]!;
      if (!accepts(type, v)) throw this.rejection(r.line, i, v);
      const field = csvField(type, v);
      line += field;
      if (type === 'boolean') this.noteBoolean(i, v, field === 't');
    }
    this.count(r.line);
    return line + this.eol;
  }

  /** Checks the row in `f` (bytes of `b`) and leaves it to `span`, rewriting the fields that need it. */
  forward(b: Buffer, f: CsvFields, span: ForwardSpan): void {
    const { names, types } = this;
    checkRowShape(names, f.count, f.line);
    for (let i = 0; i < names.length; i++) {
      const s = f.start[i]!;
      const e = f.end[i]!;
      const flags = f.flags[i]!;
      const quote = flags & QUOTED ? 1 : 0;
      if (s === e || (e - s === 2 && b[s] === N && b[s + 1] === A && !(flags & ESCAPED))) {
        this.nullSeen[i] = true;
        // COPY reads only an unquoted empty field as NULL.
        if (quote || s !== e) span.replace(b, s - quote, e + quote, '');
        continue;
      }
      const type = types[i]!;
      if (type === 'text') {
        const endOfData = names.length === 1 && !quote && e - s === 2 && b[s] === BACKSLASH && b[s + 1] === DOT;
        if (flags & LINE_END || endOfData) span.replace(b, s, e, `"${b.toString('utf8', s, e)}"`);
        continue;
      }
      if (!(flags & ESCAPED) && acceptsBytes(type, b, s, e)) {
        if (type === 'boolean' && (this.trueSeen[i] === undefined || this.falseSeen[i] === undefined)) this.noteBoolean(i, f.text(b, i), booleanBytes(b, s, e) === 1);
        continue;
      }
      const v = f.text(b, i);
      if (!accepts(type, v)) throw this.rejection(f.line, i, v);
      if (type === 'boolean') this.noteBoolean(i, v, booleanWord(v) === true);
    }
    this.count(f.line);
  }

  private noteBoolean(i: number, v: string, value: boolean): void {
    if (value) this.trueSeen[i] ??= v;
    else this.falseSeen[i] ??= v;
  }

  private rejection(line: number, i: number, v: string): CsvRejected {
    const type = this.types[i]!;
    const inferred = !this.overrides.has(this.names[i]!);
    return new CsvRejected({
      line,
      column: i + 1,
      columnName: this.names[i],
      message: `"${v.length > 40 ? `${v.slice(0, 40)}...` : v}" is not ${describeType(type)}${inferred ? ` (the type was inferred from the first ${this.sampled} rows; set the column's type to accept it)` : ''}`,
    });
  }

  private count(line: number): void {
    const delta = line - (this.headerLine + this.rows + 1);
    if (delta !== this.lastDelta) {
      this.lineShifts.push({ row: this.rows, delta });
      this.lastDelta = delta;
    }
    this.rows++;
  }

  lineOfRow(row: number): number {
    let delta = 0;
    for (const shift of this.lineShifts) if (shift.row <= row) delta = shift.delta;
    return this.headerLine + row + 1 + delta;
  }
}
