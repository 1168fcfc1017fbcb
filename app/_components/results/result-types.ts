/**
 * The shapes of a query result as the grid, the profiles and the charts draw them: the notebook
 * contract's `CellOutput` columns and `ColumnProfile` (server/services/notebooks/output-types.ts),
 * kept structural here so the dataset pages (whose preview has the same columns) can use the grid too.
 */
export type ColumnType = 'integer' | 'numeric' | 'boolean' | 'timestamp' | 'text';
export type ResultColumn = { name: string; type: ColumnType | string };

export type ColumnProfile = {
  name: string;
  type: string;
  rows: number;
  nullCount: number;
  distinctCount: number;
  sampled: boolean;
  min: number | string | null;
  max: number | string | null;
  mean: number | null;
  histogram: { lo: number | string; hi: number | string; count: number }[] | null;
  topValues: { value: string | null; count: number }[] | null;
};

export const isNumericType = (t: string): boolean => t === 'integer' || t === 'numeric';
