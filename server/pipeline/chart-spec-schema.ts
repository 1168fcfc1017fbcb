import { z } from 'zod';
import { chartAggregates, chartTypes, MAX_CHART_COLUMN, type ChartSpec as ChartSpecType } from './chart-spec';

/** API input schema of a chart spec (server only; the browser validates with `chartSpecOf`). */
export const ChartSpec = z
  .object({
    type: z.enum(chartTypes),
    x: z.string().min(1).max(MAX_CHART_COLUMN),
    y: z.string().min(1).max(MAX_CHART_COLUMN).optional(),
    color: z.string().min(1).max(MAX_CHART_COLUMN).optional(),
    aggregate: z.enum(chartAggregates).optional(),
  })
  .strict() satisfies z.ZodType<ChartSpecType>;
