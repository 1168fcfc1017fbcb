/**
 * A cell's chart: stored in the cell (Yjs `chart` key), so collaborators see the same chart, it
 * survives reloads and travels in bundles. Columns are names in the cell's result; the server
 * aggregates in SQL and says when one is missing.
 *
 * No zod here: the browser imports this through the notebook document model, and zod's first parse
 * probes `new Function` (its JIT), which the app's CSP reports as a blocked eval. The zod schema for
 * API inputs is in chart-spec-schema.ts and agrees with `chartSpecOf` (tested).
 */
export const chartTypes = ['bar', 'line', 'area', 'scatter', 'histogram'] as const;
export const chartAggregates = ['none', 'count', 'sum', 'mean', 'min', 'max'] as const;
export type ChartType = (typeof chartTypes)[number];
export type ChartAggregate = (typeof chartAggregates)[number];

export type ChartSpec = { type: ChartType; x: string; y?: string; color?: string; aggregate?: ChartAggregate };

/** Column names in a spec: what a result column can be called (Postgres identifiers are at most 63 bytes). */
export const MAX_CHART_COLUMN = 63;

const columnName = (v: unknown): v is string => typeof v === 'string' && v.length >= 1 && v.length <= MAX_CHART_COLUMN;
const KEYS = new Set(['type', 'x', 'y', 'color', 'aggregate']);

/** The spec when `value` is a valid one (documents are written by clients: read defensively), else null. */
export function chartSpecOf(value: unknown): ChartSpec | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const v = value as Record<string, unknown>;
  if (Object.keys(v).some((k) => !KEYS.has(k))) return null;
  if (!(chartTypes as readonly unknown[]).includes(v.type) || !columnName(v.x)) return null;
  const out: ChartSpec = { type: v.type as ChartType, x: v.x };
  for (const key of ['y', 'color'] as const) {
    if (v[key] === undefined) continue;
    if (!columnName(v[key])) return null;
    out[key] = v[key];
  }
  if (v.aggregate !== undefined) {
    if (!(chartAggregates as readonly unknown[]).includes(v.aggregate)) return null;
    out.aggregate = v.aggregate as ChartAggregate;
  }
  return out;
}
