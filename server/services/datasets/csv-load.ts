import type { DatasetColumnSpec, DatasetColumnType } from '@/db/schema';
import { booleanWordsOf } from '@/server/domain/boolean-words';
import { isNullCell, normaliseHeaders, TypeInference } from '../../domain/column-types';
import { BatchBytes } from './csv-batch-bytes';
import { InvalidCsvEncoding, type CsvEncoding } from './csv-encoding';
import { CsvInput } from './csv-input';
import { CsvRejected, CsvTooLarge, formatBytes, type CsvProblem } from './csv-problems';
import { checkRowShape, ForwardSpan, RowEncoder, type Rec } from './csv-rows';
import { CsvFields, CsvScanner, CsvSyntaxError, END, MORE } from './csv-scanner';

/**
 * Streaming CSV reading for uploads: reads the header and a sample, infers column types (the
 * caller's overrides win), then yields the rows as validated CSV for COPY in bounded batches: the
 * sample's rows rewritten, the others' bytes as written where Postgres reads them as we do (csv-rows.ts).
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

export { CsvRejected, CsvTooLarge, formatBytes, type CsvProblem };

export const MAX_UPLOAD_BYTES = 1024 * 1024 * 1024;

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
    throw new CsvRejected({
      line: first.line,
      message: `the header has ${headers.length.toLocaleString('en-US')} columns; a dataset has at most ${MAX_CSV_COLUMNS.toLocaleString('en-US')} (Postgres's limit)`,
    });
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

/** The next non-blank record as strings (the header and the sample), or null at the end. */
async function nextRecord(input: CsvInput, scanner: CsvScanner, fields: CsvFields): Promise<Rec | null> {
  try {
    for (;;) {
      const end = scanner.next(input.data, input.pos, input.final, fields);
      if (end === MORE) {
        await input.grow();
        continue;
      }
      if (end === END) return null;
      const b = input.data;
      input.pos = end;
      if (fields.blank) continue;
      const record = new Array<string>(fields.count);
      for (let k = 0; k < fields.count; k++) record[k] = fields.text(b, k);
      return { record, line: fields.line };
    }
  } catch (err) {
    throw translate(err);
  }
}

/**
 * The rows after the sample, as written: each checked in place (RowEncoder.forward) and the bytes
 * copied into `bytes` a run at a time; yields each time `bytes` holds a batch.
 */
async function* forwardRows(input: CsvInput, scanner: CsvScanner, fields: CsvFields, encoder: RowEncoder, bytes: BatchBytes): AsyncGenerator<void> {
  const span = new ForwardSpan(bytes);
  try {
    for (;;) {
      const b = input.data;
      let at = input.pos;
      span.from = at;
      let end: number;
      while ((end = scanner.next(b, at, input.final, fields)) >= 0) {
        if (fields.blank) span.replace(b, at, end, '');
        else {
          encoder.forward(b, fields, span);
          // The last line may lack its line end: with NA dropped, a one-column row would be nothing.
          if (!fields.delimited) span.replace(b, end, end, encoder.eol);
        }
        at = end;
        if (span.full(at)) {
          span.flush(b, at);
          input.pos = at;
          yield;
        }
      }
      span.flush(b, at);
      input.pos = at;
      if (end === END) return;
      await input.grow();
    }
  } catch (err) {
    throw translate(err);
  }
}

export async function startCsvLoad(source: AsyncIterable<Buffer | string>, opts: CsvLoadOptions = {}): Promise<CsvLoad> {
  const sampleRows = opts.sampleRows ?? 20_000;
  const batchBytes = opts.batchBytes ?? 512 * 1024;
  const input = new CsvInput(source, opts.maxBytes ?? MAX_UPLOAD_BYTES, opts.encoding);
  const scanner = new CsvScanner();
  const fields = new CsvFields();

  const next = () => nextRecord(input, scanner, fields);

  const first = await next();
  if (!first) throw new CsvRejected({ line: 1, message: 'the file is empty: the first line must name the columns' });
  const headers = first.record;
  const { names, overrides } = readHeader(first, opts.types);

  const sample: Rec[] = [];
  const inference = names.map(() => new TypeInference());
  while (sample.length < sampleRows) {
    const r = await next();
    if (!r) break;
    checkRowShape(names, r.record.length, r.line);
    sample.push(r);
    r.record.forEach((v, i) => {
      if (!isNullCell(v)) inference[i]!.observe(v);
    });
  }
  const sampled = sample.length;
  const types = names.map((n, i) => overrides.get(n) ?? inference[i]!.result());
  const encoder = new RowEncoder(names, types, overrides, sampled, first.line, scanner.delimiter || '\n');

  async function* batches(): AsyncGenerator<CsvBatch> {
    const bytes = new BatchBytes(batchBytes);
    let firstRow = 0;
    const flush = () => {
      const batch = { csv: bytes.take(), firstRow };
      firstRow = encoder.rows;
      opts.onProgress?.({ bytesRead: input.bytesIn, rows: encoder.rows });
      return batch;
    };
    for (const r of sample) if (bytes.add(encoder.encode(r))) yield flush();
    sample.length = 0;
    for await (const _ of forwardRows(input, scanner, fields, encoder, bytes)) yield flush();
    if (bytes.used > 0) yield flush();
    else opts.onProgress?.({ bytesRead: input.bytesIn, rows: encoder.rows });
  }

  return {
    columns: names.map((name, i) => columnSpec(name, headers[i]!, types[i]!, true, undefined, undefined)),
    headers,
    batches,
    stats: () => ({
      rows: encoder.rows,
      bytes: input.bytesIn,
      sha256: input.sha256(),
      columns: names.map((name, i) => columnSpec(name, headers[i]!, types[i]!, encoder.nullSeen[i]!, encoder.trueSeen[i], encoder.falseSeen[i])),
    }),
    lineOfRow: (row) => encoder.lineOfRow(row),
    abort: (err) => input.stop(err ?? new Error('the upload was stopped')),
  };
}

/** A column's spec, with its header as written when normalising changed it and a boolean's own words. */
function columnSpec(name: string, header: string, type: DatasetColumnType, nullable: boolean, trueSeen: string | undefined, falseSeen: string | undefined): DatasetColumnSpec {
  const words = type === 'boolean' ? booleanWordsOf(trueSeen, falseSeen) : null;
  const written = header.trim();
  return { name, type, nullable, ...(written !== name ? { header: written } : {}), ...(words ? { booleanWords: words } : {}) };
}
