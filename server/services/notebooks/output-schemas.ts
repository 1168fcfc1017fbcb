import { z } from 'zod';
import { NotebookRef } from './schemas';

/** Cell ids are the document's (UUIDs from `newCellId`, or any short id a test or import chose). */
export const CellIdSchema = z.string({ error: 'cellId is required' }).trim().min(1, 'cellId is required').max(100, 'cellId must be at most 100 characters');

export const CellRef = NotebookRef.extend({ cellId: CellIdSchema });
export const RunCellInput = CellRef.extend({
  limit: z.coerce.number({ error: 'limit must be a number' }).int('limit must be an integer').min(1, 'limit must be at least 1').max(10_000, 'limit must be at most 10000').default(1000),
});
export const NotebookOutputsInput = NotebookRef;

/**
 * The chart a cell shows (the contract's ChartSpec; server/pipeline/chart-spec.ts on the notebook-doc
 * branch holds the document's copy: the two must stay equal).
 */
export const ChartDataSpec = z.object({
  type: z.enum(['bar', 'line', 'area', 'scatter', 'histogram'], { error: 'type must be one of bar, line, area, scatter, histogram' }),
  x: z.string({ error: 'x is required' }).min(1, 'x is required').max(200),
  y: z.string().max(200).optional(),
  color: z.string().max(200).optional(),
  aggregate: z.enum(['none', 'count', 'sum', 'mean', 'min', 'max'], { error: 'aggregate must be one of none, count, sum, mean, min, max' }).optional(),
});
export const ChartDataInput = CellRef.extend({ spec: ChartDataSpec });
