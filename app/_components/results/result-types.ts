/**
 * The shapes of a query result as the grid, the profiles and the charts draw them: the notebook
 * contract's `CellOutput` columns and `ColumnProfile` (server/services/notebooks/output-types.ts),
 * the columns kept structural here so the dataset pages (whose preview has the same columns) can use the grid too.
 */
export type ColumnType = 'integer' | 'numeric' | 'boolean' | 'timestamp' | 'text';
export type ResultColumn = { name: string; type: ColumnType | string };

export type { ColumnProfile } from '@/server/services/notebooks/output-types';

export const isNumericType = (t: string): boolean => t === 'integer' || t === 'numeric';
