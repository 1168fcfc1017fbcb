/**
 * A first look at a CSV in the browser, before it is uploaded: its columns (named the way the server
 * names them) and the types the server would infer, so people can correct them up front. It reads
 * only the head of the file; the server infers from its own (larger) sample and has the last word,
 * so only the types someone changed are sent with the upload.
 *
 * The rules mirror server/services/datasets/column-types.ts and csv-load.ts (the app may not import
 * them: they are server code); a mismatch only changes the suggestion, never what gets loaded.
 */

export const columnTypes = ['integer', 'numeric', 'boolean', 'timestamp', 'text'] as const;
export type ColumnType = (typeof columnTypes)[number];

export type SniffedColumn = { name: string; header: string; type: ColumnType; nulls: number; example: string | null };
export type CsvSniff = { columns: SniffedColumn[]; sampledRows: number; wholeFile: boolean };

/** How much of the file is read for the suggestion: enough rows to type ordinary files, fast on big ones. */
export const SNIFF_BYTES = 2 * 1024 * 1024;
const SAMPLE_ROWS = 20_000;

export function normaliseHeaders(raw: string[]): string[] {
  const seen = new Map<string, number>();
  return raw.map((h, i) => {
    let name = h
      .trim()
      .toLowerCase()
      .replace(/[^a-z0-9_]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .slice(0, 60);
    if (!name) name = `column_${i + 1}`;
    if (!/^[a-z]/.test(name)) name = `c_${name}`;
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    return n === 1 ? name : `${name}_${n}`;
  });
}

/** A dataset name suggested by a file name: `Credit Data (2024).csv` -> `credit_data_2024`. */
export function datasetNameFromFile(fileName: string): string {
  const base = fileName.replace(/\.[^.]*$/, '');
  let name = base
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 63);
  if (!name) return '';
  if (!/^[a-z]/.test(name)) name = `d_${name}`.slice(0, 63);
  return name;
}

export const DATASET_NAME = /^[a-z][a-z0-9_]{0,62}$/;

/** RFC 4180 records from text; a trailing record cut off by the slice is dropped when `partial`. */
export function parseCsv(text: string, partial: boolean): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let fieldStarted = false;
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
      continue;
    }
    if (c === '"' && !fieldStarted) {
      quoted = true;
      fieldStarted = true;
    } else if (c === ',') {
      record.push(field);
      field = '';
      fieldStarted = false;
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      record.push(field);
      if (!(record.length === 1 && record[0] === '')) records.push(record);
      record = [];
      field = '';
      fieldStarted = false;
    } else {
      field += c;
      fieldStarted = true;
    }
  }
  if (!partial && (fieldStarted || record.length > 0)) {
    record.push(field);
    records.push(record);
  }
  return records;
}

const INTEGER = /^[+-]?\d+$/;
const NUMERIC = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?$/i;
const BOOLEAN_WORDS = new Set(['true', 't', 'yes', 'y', 'false', 'f', 'no', 'n']);

const isNullCell = (v: string) => v === '' || v === 'NA';

function isInteger(v: string): boolean {
  if (!INTEGER.test(v)) return false;
  const digits = v.replace(/^[+-]/, '').replace(/^0+(?=\d)/, '');
  if (digits.length < 19) return true;
  if (digits.length > 19) return false;
  const n = BigInt(v.replace(/^\+/, ''));
  return n <= 9223372036854775807n && n >= -9223372036854775808n;
}

function isTimestamp(v: string): boolean {
  const m = TIMESTAMP.exec(v);
  if (!m) return false;
  const month = +m[2]!;
  const day = +m[3]!;
  const daysInMonth = new Date(Date.UTC(+m[1]!, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) return false;
  return (m[4] === undefined || +m[4] < 24) && (m[5] === undefined || +m[5] < 60) && (m[6] === undefined || +m[6] < 60);
}

const candidatesInOrder = ['boolean', 'integer', 'numeric', 'timestamp'] as const;
const acceptsStrict: Record<(typeof candidatesInOrder)[number], (v: string) => boolean> = {
  boolean: (v) => BOOLEAN_WORDS.has(v.toLowerCase()),
  integer: isInteger,
  numeric: (v) => NUMERIC.test(v) && Number.isFinite(Number(v)),
  timestamp: isTimestamp,
};

/** The narrowest type every non-null value fits; `text` when nothing else does or all are null. */
export function inferType(values: Iterable<string>): ColumnType {
  const candidates = new Set(candidatesInOrder);
  let seen = false;
  for (const v of values) {
    if (isNullCell(v)) continue;
    seen = true;
    for (const t of candidates) if (!acceptsStrict[t](v)) candidates.delete(t);
    if (candidates.size === 0) return 'text';
  }
  if (!seen) return 'text';
  return candidatesInOrder.find((t) => candidates.has(t)) ?? 'text';
}

export function sniffCsvText(text: string, wholeFile: boolean): CsvSniff {
  const records = parseCsv(text, !wholeFile);
  const [header, ...rows] = records;
  if (!header) return { columns: [], sampledRows: 0, wholeFile };
  const sample = rows.slice(0, SAMPLE_ROWS);
  const names = normaliseHeaders(header);
  const columns = names.map((name, i) => {
    const values = sample.map((r) => r[i] ?? '');
    return {
      name,
      header: header[i] ?? name,
      type: inferType(values),
      nulls: values.filter(isNullCell).length,
      example: values.find((v) => !isNullCell(v)) ?? null,
    };
  });
  return { columns, sampledRows: sample.length, wholeFile: wholeFile && rows.length <= SAMPLE_ROWS };
}

export async function sniffCsvFile(file: Blob): Promise<CsvSniff> {
  const wholeFile = file.size <= SNIFF_BYTES;
  const text = await file.slice(0, SNIFF_BYTES).text();
  return sniffCsvText(text, wholeFile);
}
