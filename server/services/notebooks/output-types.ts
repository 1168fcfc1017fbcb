/**
 * What a cell's preview gives back, stored per cell and shared with every collaborator (issue 11).
 * Plain JSON, imported by the app as types only (`import type`): the contract between the
 * notebook's server side and its UI.
 */

export type OutputColumnType = 'integer' | 'numeric' | 'boolean' | 'timestamp' | 'text';

export type ColumnProfile = {
  name: string;
  type: string;
  /** Rows the profile covers: the whole result, or the sample when `sampled`. */
  rows: number;
  nullCount: number;
  distinctCount: number;
  /**
   * True when distinct counts, histogram or top values come from a random sample of a large result.
   * A built table over EXACT_METRICS_MAX_ROWS rows (cells/table-metrics.ts) is profiled on a block
   * sample only: there the null count, bounds and mean are estimates too (`rows` stays the table's).
   */
  sampled: boolean;
  min: number | string | null;
  max: number | string | null;
  mean: number | null;
  /** numeric and timestamp columns; bounds are ISO strings for timestamps. */
  histogram: { lo: number | string; hi: number | string; count: number }[] | null;
  /** text and boolean columns; the most frequent values first. */
  topValues: { value: string | null; count: number }[] | null;
};

export type InputState = 'built' | 'stale' | 'unbuilt';

export type CellOutput = {
  cellId: string;
  outputId: string;
  status: 'ok' | 'error';
  sourceHash: string;
  inputsHash: string;
  stale: boolean;
  staleReason: 'source' | 'inputs' | null;
  ranAt: string;
  ranBy: { id: string; name: string } | null;
  elapsedMs: number;
  columns: { name: string; type: OutputColumnType }[];
  /** Timestamps as ISO strings, NULL as null; values are data, never markup. */
  rows: unknown[][];
  /** Rows of the full result (null if unknown). */
  totalRows: number | null;
  /** The stored output was capped in size: show a "truncated" marker. */
  truncated: boolean;
  /** rows.length < totalRows because of the preview limit. */
  limited: boolean;
  profile: ColumnProfile[] | null;
  error: { message: string; line: number | null; column: number | null } | null;
  inputs: { name: string; state: InputState }[];
  /**
   * ts and python previews: the inputs the cell read only the first rows of (it ran on a sample, so
   * the result may have more rows than `totalRows`); Show all and Download CSV run it on every row.
   */
  sampledInputs?: string[];
};

export type ChartData = { rows: Record<string, unknown>[]; aggregated: boolean; sampled: boolean; error: string | null };

export type QueryResult = { columns: { name: string; type: OutputColumnType }[]; rows: unknown[][]; truncated: boolean; elapsedMs: number };
