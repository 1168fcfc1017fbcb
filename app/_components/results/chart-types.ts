/**
 * A cell's chart, as stored in the document (`chart` key of the cell map): the contract's
 * `ChartSpec` (server/pipeline/chart-spec.ts, pure), plain JSON so collaborators and bundles carry it.
 */
import type { ChartSpec } from '@/server/pipeline/chart-spec';

export type ChartSpecView = ChartSpec;
// The lists as values (the app imports only types from the server); `satisfies` keeps them equal to the contract's.
export const chartTypes = ['bar', 'line', 'area', 'scatter', 'histogram'] as const satisfies readonly ChartSpec['type'][];
export const chartAggregates = ['none', 'count', 'sum', 'mean', 'min', 'max'] as const satisfies readonly NonNullable<ChartSpec['aggregate']>[];
export type { ChartData } from '@/server/services/notebooks/output-types';

/** A first chart for a result: its first timestamp or text column against its first number. */
export function suggestChart(columns: { name: string; type: string }[]): ChartSpecView | null {
  const num = columns.find((c) => c.type === 'integer' || c.type === 'numeric');
  const time = columns.find((c) => c.type === 'timestamp');
  const cat = columns.find((c) => c.type === 'text' || c.type === 'boolean');
  if (time && num) return { type: 'line', x: time.name, y: num.name, aggregate: 'sum' };
  if (cat && num) return { type: 'bar', x: cat.name, y: num.name, aggregate: 'sum' };
  if (cat) return { type: 'bar', x: cat.name, aggregate: 'count' };
  if (num) return { type: 'histogram', x: num.name };
  const first = columns[0];
  return first ? { type: 'bar', x: first.name, aggregate: 'count' } : null;
}

/** Columns the spec names that the result does not have (a chart set before the query changed). */
export function missingColumns(spec: ChartSpecView, columns: { name: string }[]): string[] {
  const have = new Set(columns.map((c) => c.name));
  return [spec.x, spec.y, spec.color].filter((c): c is string => !!c && !have.has(c));
}
