import { z } from 'zod';

/**
 * A cell's chart: stored in the cell (Yjs `chart` key), so collaborators see the same chart, it
 * survives reloads and travels in bundles. Columns are names in the cell's result; the server
 * aggregates in SQL and says when one is missing.
 */
export const chartTypes = ['bar', 'line', 'area', 'scatter', 'histogram'] as const;
export const chartAggregates = ['none', 'count', 'sum', 'mean', 'min', 'max'] as const;

export const ChartSpec = z
  .object({
    type: z.enum(chartTypes),
    x: z.string().min(1).max(63),
    y: z.string().min(1).max(63).optional(),
    color: z.string().min(1).max(63).optional(),
    aggregate: z.enum(chartAggregates).optional(),
  })
  .strict();
export type ChartSpec = z.infer<typeof ChartSpec>;

/** The spec when `value` is a valid one (documents are written by clients: read defensively), else null. */
export function chartSpecOf(value: unknown): ChartSpec | null {
  const parsed = ChartSpec.safeParse(value);
  return parsed.success ? parsed.data : null;
}
