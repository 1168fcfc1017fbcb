import { z } from 'zod';
import { ChartSpec } from '@/server/pipeline/chart-spec-schema';
import { NotebookRef } from './schemas';

/** Cell ids are the document's (UUIDs from `newCellId`, or any short id a test or import chose). */
export const CellIdSchema = z.string({ error: 'cellId is required' }).trim().min(1, 'cellId is required').max(100, 'cellId must be at most 100 characters');

export const CellRef = NotebookRef.extend({ cellId: CellIdSchema });
export const RunCellInput = CellRef.extend({
  limit: z.coerce.number({ error: 'limit must be a number' }).int('limit must be an integer').min(1, 'limit must be at least 1').max(10_000, 'limit must be at most 10000').default(1000),
  /**
   * The runner's Yjs state vector (base64) when they pressed Run: the server waits until its copy of
   * the notebook has every edit the runner had seen, so a Run right after typing runs what was typed.
   */
  seen: z
    .string()
    .max(65_536, 'seen must be at most 65536 characters')
    .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'seen must be base64')
    .optional(),
});
export const NotebookOutputsInput = NotebookRef;
/** Rows of a cell's full result, streamed (see stream-rows.ts). */
export const CellRowsInput = CellRef.extend({
  limit: z.coerce.number({ error: 'limit must be a number' }).int('limit must be an integer').min(1, 'limit must be at least 1').max(100_000, 'limit must be at most 100000').default(100_000),
  outputId: z.uuid({ error: 'outputId must be a UUID' }).optional(),
});

/** The chart a cell shows: the document's own ChartSpec (server/pipeline/chart-spec.ts). */
export const ChartDataSpec = ChartSpec;
export const ChartDataInput = CellRef.extend({ spec: ChartDataSpec });
