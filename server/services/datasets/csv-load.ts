import { createHash } from 'node:crypto';
import type { DatasetColumnSpec, DatasetColumnType } from '@/db/schema';
import { booleanWordsOf } from '@/server/domain/boolean-words';
import { accepts, csvField, describeType, isNullCell, normaliseHeaders, TypeInference } from '../../domain/column-types';
import { CsvRecordParser, CsvSyntaxError } from './csv-records';
import { BatchBytes } from './csv-batch-bytes';
import { csvChunkDecoder, InvalidCsvEncoding, type CsvEncoding } from './csv-encoding';

/**
 * Streaming CSV reading for uploads: reads the header and a sample, infers column types (the
 * caller's overrides win), then yields the rows as validated CSV text for COPY in bounded batches.
 * Memory holds one sample, one batch and what the COPY has queued (storage.ts), never the file.
 */
export type CsvLoadOptions = {
  /** Column types by (normalised) column name; the others are inferred. */
  types?: Record<string, DatasetColumnType> | undefined;
  sampleRows?: number;
  batchBytes?: number;
  maxBytes?: number;
  onProgress?: ((p: { bytesRead: number; rows: number }) => void) | undefined;
  /** The file's encoding; UTF-8 (the default) is checked byte by byte. */
  encoding?: CsvEncoding | undefined;
};

/** Postgres's limit on the columns of a table. */
export const MAX_CSV_COLUMNS = 1600;
/** Names Postgres keeps for the system columns every table has: a column of that name cannot be created. */
const SYSTEM_COLUMNS = new Set(['tableoid', 'xmin', 'cmin', 'xmax', 'cmax', 'ctid']);

export type CsvProblem = { line: number; column?: number; columnName?: string; message: string };

/** A user's file that cannot be loaded: the line (and column) of the first problem. */
export class CsvRejected extends Error {
  constructor(readonly problem: CsvProblem) {
    const where = `line ${problem.line}${problem.column ? `, column ${problem.column}${problem.columnName ? ` (${problem.columnName})` : ''}` : ''}`;
    super(`${where}: ${problem.message}`);
    this.name = 'CsvRejected';
  }
}

export class CsvTooLarge extends Error {}

export const MAX_UPLOAD_BYTES = 1024 * 1024 * 1024;

export function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${Math.round(n / 1024 / 1024)} MB` : `${Math.round(n / 1024)} KB`;
}

/** CSV lines for COPY (UTF-8) and the 0-based data row of the first. */
export type CsvBatch = { csv: Buffer; firstRow: number };

export type CsvLoad = {
  /** Names and types, known after the sample; nullability is final in `stats()`. */
  columns: DatasetColumnSpec[];
  /** The original header of each column, in order. */
  headers: string[];
  /** The rows as CSV text for COPY, validated; throws CsvRejected at the first bad row. */
  batches: () => AsyncGenerator<CsvBatch>;
  /** Final once `batches` is exhausted; `columns` then knows which columns had nulls. */
  stats: () => { rows: number; bytes: number; sha256: string; columns: DatasetColumnSpec[] };
  /** The file line of a data row (0-based), for errors the database reports by row. */
  lineOfRow: (row: number) => number;
  /** Stops reading (after a failure elsewhere). */
  abort: (err?: Error) => void;
};

export { normaliseHeaders };

type Rec = { record: string[]; line: number };

/**
 * Records from CsvRecordParser, queued by the feeding loop and taken synchronously while there are
 * some (no promise per row), tracking each record's file line: one line per record, plus the
 * newlines inside quoted fields, plus skipped blank lines.
 */
class RecordReader {
  private line = 0;
  private queue: string[][] = [];
  private head = 0;
  ended = false;
  failure: unknown = null;
  private wake: (() => void) | null = null;
  private space: (() => void) | null = null;
  /**
   * Records the feeder may queue before it waits for the reader: a few chunks' worth. Queued records
   * outlive the young generation's collections, which copy them each time, so more only costs.
   */
  static readonly HIGH_WATER = 5_000;
  private signal() {
    const w = this.wake;
    this.wake = null;
    w?.();
  }
  add(records: string[][]) {
    for (const r of records) this.queue.push(r);
    if (records.length) this.signal();
  }
  end() {
    this.ended = true;
    this.signal();
  }
  fail(err: unknown) {
    if (!this.failure) this.failure = err;
    this.signal();
    const s = this.space;
    this.space = null;
    s?.();
  }
  get pending() {
    return this.queue.length - this.head;
  }
  /** Resolves once the reader has taken most of the queue (or stopped). */
  async roomFor(): Promise<void> {
    if (this.pending < RecordReader.HIGH_WATER || this.failure) return;
    await new Promise<void>((resolve) => (this.space = resolve));
  }
  /** The next record if one is queued; null when the caller must `wait()`. */
  readSync(): Rec | null {
    for (;;) {
      if (this.head >= this.queue.length) {
        if (this.queue.length) {
          this.queue = [];
          this.head = 0;
        }
        const s = this.space;
        this.space = null;
        s?.();
        return null;
      }
      const record = this.queue[this.head++]!;
      this.line++;
      if (record.length === 1 && record[0] === '') continue; // a blank line
      const line = this.line;
      for (const field of record) {
        for (let i = field.indexOf('\n'); i !== -1; i = field.indexOf('\n', i + 1)) this.line++;
      }
      return { record, line };
    }
  }
  /** Resolves when more records may be there; false once the input is exhausted. */
  async wait(): Promise<boolean> {
    if (this.failure) throw this.failure;
    if (this.pending > 0) return true;
    if (this.ended) return false;
    await new Promise<void>((resolve) => (this.wake = resolve));
    if (this.failure) throw this.failure;
    return this.pending > 0 || !this.ended;
  }
}

/**
 * Encodes checked rows as CSV lines for COPY, counting them, noting which columns held NULLs and
 * where rows stop being "header line + row index" (multi-line fields, blank lines) for error lines.
 */
class RowEncoder {
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
  ) {
    this.nullSeen = names.map(() => false);
    this.trueSeen = names.map(() => undefined);
    this.falseSeen = names.map(() => undefined);
  }

  /** The row as one CSV line for COPY (built by concatenation: no array per row). */
  encode(r: Rec): string {
    const { names, types } = this;
    checkRowShape(names, r);
    let line = '';
    for (let i = 0; i < names.length; i++) {
      const v = r.record[i]!;
      if (i > 0) line += ',';
      if (isNullCell(v)) {
        this.nullSeen[i] = true;
        continue;
      }
      const type = types[i]!;
      if (!accepts(type, v)) {
        const inferred = !this.overrides.has(names[i]!);
        throw new CsvRejected({
          line: r.line,
          column: i + 1,
          columnName: names[i],
          message: `"${v.length > 40 ? `${v.slice(0, 40)}...` : v}" is not ${describeType(type)}${inferred ? ` (the type was inferred from the first ${this.sampled} rows; set the column's type to accept it)` : ''}`,
        });
      }
      const field = csvField(type, v);
      line += field;
      if (type === 'boolean' && (this.trueSeen[i] === undefined || this.falseSeen[i] === undefined)) {
        if (field === 't') this.trueSeen[i] ??= v;
        else this.falseSeen[i] ??= v;
      }
    }
    const delta = r.line - (this.headerLine + this.rows + 1);
    if (delta !== this.lastDelta) {
      this.lineShifts.push({ row: this.rows, delta });
      this.lastDelta = delta;
    }
    this.rows++;
    return line + '\n';
  }

  lineOfRow(row: number): number {
    let delta = 0;
    for (const shift of this.lineShifts) if (shift.row <= row) delta = shift.delta;
    return this.headerLine + row + 1 + delta;
  }
}

/** A parse or encoding error as the CsvRejected the caller reports; anything else unchanged. */
function translate(err: unknown): unknown {
  if (err instanceof CsvSyntaxError) return new CsvRejected({ line: err.line, message: err.message });
  if (err instanceof InvalidCsvEncoding) return new CsvRejected({ line: err.line, message: err.message });
  return err;
}

/** The header's column names (normalised, checked) and the column types the caller set, by name. */
function readHeader(first: Rec, types: CsvLoadOptions['types']): { names: string[]; overrides: Map<string, DatasetColumnType> } {
  const headers = first.record;
  if (headers.length > MAX_CSV_COLUMNS) {
    throw new CsvRejected({ line: first.line, message: `the header has ${headers.length.toLocaleString('en-US')} columns; a dataset has at most ${MAX_CSV_COLUMNS.toLocaleString('en-US')} (Postgres's limit)` });
  }
  const names = normaliseHeaders(headers);
  names.forEach((name, i) => {
    if (SYSTEM_COLUMNS.has(name)) {
      throw new CsvRejected({ line: first.line, column: i + 1, columnName: name, message: `"${headers[i]}" is the name of a Postgres system column, which a dataset cannot have: rename the column` });
    }
  });
  const overrides = new Map<string, DatasetColumnType>();
  for (const [key, type] of Object.entries(types ?? {})) {
    const name = names.includes(key) ? key : normaliseHeaders([key])[0]!;
    if (!names.includes(name)) throw new CsvRejected({ line: first.line, message: `a type was given for "${key}", which is not a column (columns: ${names.join(', ')})` });
    overrides.set(name, type);
  }
  return { names, overrides };
}

/** A row with as many fields as the header has columns, else the CsvRejected naming the first missing or extra one. */
function checkRowShape(names: string[], r: Rec): void {
  if (r.record.length === names.length) return;
  if (r.record.length < names.length) {
    throw new CsvRejected({ line: r.line, column: r.record.length + 1, columnName: names[r.record.length], message: `missing value: the header has ${names.length} columns, this row ${r.record.length}` });
  }
  throw new CsvRejected({ line: r.line, column: names.length + 1, message: `extra value: the header has ${names.length} columns, this row ${r.record.length}` });
}

export async function startCsvLoad(source: AsyncIterable<Buffer | string>, opts: CsvLoadOptions = {}): Promise<CsvLoad> {
  const sampleRows = opts.sampleRows ?? 20_000;
  const batchBytes = opts.batchBytes ?? 512 * 1024;
  const maxBytes = opts.maxBytes ?? MAX_UPLOAD_BYTES;
  const hash = createHash('sha256');
  let bytesIn = 0;
  const parser = new CsvRecordParser();
  const reader = new RecordReader();
  const decoder = csvChunkDecoder(opts.encoding);
  let stopped = false;
  const out: string[][] = [];
  const feed = async (buf: Buffer) => {
    if (stopped || buf.length === 0) return;
    try {
      parser.push(buf.toString('utf8'), out);
    } finally {
      // The records before a syntax error are read (and checked) before it.
      reader.add(out);
      out.length = 0;
    }
    await reader.roomFor();
  };

  // Feed the parser from the source with backpressure; errors surface through the reader.
  const feeding = (async () => {
    for await (const chunk of source) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      bytesIn += buf.length;
      if (bytesIn > maxBytes) throw new CsvTooLarge(`the file is larger than the upload limit of ${formatBytes(maxBytes)}`);
      hash.update(buf);
      if (stopped) return;
      await feed(decoder.next(buf));
    }
    await feed(decoder.end());
    if (stopped) return;
    try {
      parser.end(out);
    } finally {
      reader.add(out);
      out.length = 0;
    }
    reader.end();
  })().catch((err: unknown) => {
    stopped = true;
    reader.fail(err instanceof Error ? err : new Error(String(err)));
  });

  const next = async (): Promise<Rec | null> => {
    try {
      for (;;) {
        const r = reader.readSync();
        if (r) return r;
        if (!(await reader.wait())) return null;
      }
    } catch (err) {
      throw translate(err);
    }
  };

  const first = await next();
  if (!first) throw new CsvRejected({ line: 1, message: 'the file is empty: the first line must name the columns' });
  const headers = first.record;
  const { names, overrides } = readHeader(first, opts.types);
  const checkShape = (r: Rec) => checkRowShape(names, r);

  const sample: Rec[] = [];
  const inference = names.map(() => new TypeInference());
  while (sample.length < sampleRows) {
    const r = await next();
    if (!r) break;
    checkShape(r);
    sample.push(r);
    r.record.forEach((v, i) => {
      if (!isNullCell(v)) inference[i]!.observe(v);
    });
  }
  const sampled = sample.length;
  const types = names.map((n, i) => overrides.get(n) ?? inference[i]!.result());
  const encoder = new RowEncoder(names, types, overrides, sampled, first.line);
  const encode = (r: Rec): string => encoder.encode(r);

  async function* batches(): AsyncGenerator<CsvBatch> {
    // Lines go straight into the batch's bytes: no line outlives its row, so the young generation's
    // collections find little alive (a batch of strings survived them and was copied each time).
    const bytes = new BatchBytes(batchBytes);
    let firstRow = 0;
    const flush = () => {
      const batch = { csv: bytes.take(), firstRow };
      firstRow = encoder.rows;
      opts.onProgress?.({ bytesRead: bytesIn, rows: encoder.rows });
      return batch;
    };
    for (const r of sample) if (bytes.add(encode(r))) yield flush();
    sample.length = 0;
    try {
      for (;;) {
        // Synchronous while records are buffered: no promise per row.
        for (let r = reader.readSync(); r; r = reader.readSync()) if (bytes.add(encode(r))) yield flush();
        if (!(await reader.wait())) break;
      }
    } catch (err) {
      throw translate(err);
    }
    await feeding;
    if (bytes.used > 0) yield flush();
    else opts.onProgress?.({ bytesRead: bytesIn, rows: encoder.rows });
  }

  return {
    columns: names.map((name, i) => columnSpec(name, headers[i]!, types[i]!, true, undefined, undefined)),
    headers,
    batches,
    stats: () => ({ rows: encoder.rows, bytes: bytesIn, sha256: hash.copy().digest('hex'), columns: names.map((name, i) => columnSpec(name, headers[i]!, types[i]!, encoder.nullSeen[i]!, encoder.trueSeen[i], encoder.falseSeen[i])) }),
    lineOfRow: (row) => encoder.lineOfRow(row),
    abort: (err) => {
      stopped = true;
      reader.fail(err ?? new Error('the upload was stopped'));
    },
  };
}

/** A column's spec, with its header as written when normalising changed it and a boolean's own words. */
function columnSpec(name: string, header: string, type: DatasetColumnType, nullable: boolean, trueSeen: string | undefined, falseSeen: string | undefined): DatasetColumnSpec {
  const words = type === 'boolean' ? booleanWordsOf(trueSeen, falseSeen) : null;
  const written = header.trim();
  return { name, type, nullable, ...(written !== name ? { header: written } : {}), ...(words ? { booleanWords: words } : {}) };
}
