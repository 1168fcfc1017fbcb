/**
 * Rows of a CSV file as the append route takes them (`POST .../datasets/{name}/rows`): one object a
 * line, keyed by column names as uploads name them, empty and `NA` fields as null, numbers as
 * numbers where the column is numeric. Everything else goes as written: the server checks each value
 * against its column and names the first that does not fit.
 */
import { isNullCell, normaliseHeaders } from '@/server/domain/column-types';
import { parseCsv } from './csv-sniff';
import type { Dataset } from './schema-table';

export type CsvRows = { rows: Record<string, string | number | null>[]; unknownColumns: string[]; missingColumns: string[] };

export function rowsFromCsv(text: string, columns: Dataset['columns']): CsvRows {
  const [header, ...records] = parseCsv(text, false);
  if (!header) return { rows: [], unknownColumns: [], missingColumns: columns.map((c) => c.name) };
  const names = normaliseHeaders(header);
  const typeOf = new Map(columns.map((c) => [c.name, c.type]));
  const rows = records.map((record) =>
    Object.fromEntries(
      names.map((name, i) => {
        const raw = record[i] ?? '';
        if (isNullCell(raw)) return [name, null];
        const n = Number(raw);
        return [name, typeOf.get(name) === 'numeric' && raw.trim() !== '' && Number.isFinite(n) ? n : raw];
      }),
    ),
  );
  return { rows, unknownColumns: names.filter((n) => !typeOf.has(n)), missingColumns: columns.map((c) => c.name).filter((n) => !names.includes(n)) };
}

/** The server names rows by index (`rows[3].age`); people read the file by line (the header is line 1). */
export const inFileLines = (message: string) => message.replace(/rows\[(\d+)\](\.)?/g, (_m, i: string, dot?: string) => `line ${Number(i) + 2}${dot ? ', column ' : ''}`);
