/**
 * A first look at a CSV in the browser, before it is uploaded: its columns (named the way the server
 * names them) and the types the server would infer, so people can correct them up front. It reads
 * only the head of the file; the server infers from its own (larger) sample and has the last word,
 * so only the types someone changed are sent with the upload.
 *
 * Column names and types come from the server's own pure rules (server/domain/column-types.ts).
 */
import { inferType, isNullCell, normaliseHeaders } from '@/server/domain/column-types';

export const columnTypes = ['integer', 'numeric', 'boolean', 'timestamp', 'text'] as const;
export type ColumnType = (typeof columnTypes)[number];

export type SniffedColumn = { name: string; header: string; type: ColumnType; nulls: number; example: string | null };
export type CsvSniff = { columns: SniffedColumn[]; sampledRows: number; wholeFile: boolean };

/** How much of the file is read for the suggestion: enough rows to type ordinary files, fast on big ones. */
export const SNIFF_BYTES = 2 * 1024 * 1024;
const SAMPLE_ROWS = 20_000;

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
