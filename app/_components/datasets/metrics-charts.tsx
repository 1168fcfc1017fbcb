'use client';

import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { RouterOutputs } from '../types';
import { EmptyState } from '../ui';
import { formatCount, formatNumber, formatPercent } from './format';

type MetricsPoint = RouterOutputs['datasets']['metrics'][number];

const SERIES_COLORS = ['#4f46e5', '#dc2626', '#0891b2', '#ca8a04', '#16a34a', '#db2777', '#7c3aed', '#ea580c'];
/** More lines than this is noise: the columns with the highest null rate are drawn. */
const MAX_NULL_SERIES = 6;

const dayAndTime = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
const timeOfDay = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const fullTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** Builds of one day are told apart by the second; across days the date matters more. */
function axisFormat(history: { at: string }[]): Intl.DateTimeFormat {
  const days = new Set(history.map((h) => new Date(h.at).toDateString()));
  return days.size <= 1 ? timeOfDay : dayAndTime;
}
const tick = { fontSize: 11, fill: '#71717a' };

/**
 * A dataset's metrics history: row count over builds and null rates per column, then the latest
 * build's column statistics. Drawn with Recharts (SVG: crisp, inspectable, accessible text).
 */
export function MetricsCharts({ history }: { history: MetricsPoint[] }) {
  if (history.length === 0) {
    return <EmptyState title="No metrics yet.">Metrics are computed each time a build publishes this dataset: row count, nulls, ranges and distinct values per column.</EmptyState>;
  }
  const axis = axisFormat(history);
  const rows = history.map((h, i) => {
    const at = new Date(h.at);
    const point: Record<string, number | string> = { build: i + 1, label: axis.format(at), when: fullTime.format(at), rowCount: h.rowCount };
    for (const c of h.columns) point[`null:${c.name}`] = h.rowCount > 0 ? c.nullCount / h.rowCount : 0;
    return point;
  });
  const latest = history[history.length - 1]!;
  const nullColumns = latest.columns
    .map((c) => ({ name: c.name, peak: Math.max(...history.map((h) => (h.rowCount ? (h.columns.find((x) => x.name === c.name)?.nullCount ?? 0) / h.rowCount : 0))) }))
    .filter((c) => c.peak > 0)
    .sort((a, b) => b.peak - a.peak)
    .slice(0, MAX_NULL_SERIES);

  return (
    <div className="metrics">
      <div className="grid-2">
        <figure className="chart" aria-label="Row count over builds">
          <figcaption>Row count over builds</figcaption>
          <ResponsiveContainer width="100%" height={220}>
            <LineChart data={rows} margin={{ top: 8, right: 16, bottom: 4, left: 8 }}>
              <CartesianGrid stroke="#f4f4f5" vertical={false} />
              <XAxis dataKey="label" tick={tick} tickLine={false} axisLine={{ stroke: '#e4e4e7' }} minTickGap={24} />
              <YAxis tick={tick} tickLine={false} axisLine={false} width={56} tickFormatter={(v: number) => formatNumber(v)} domain={[0, 'auto']} allowDecimals={false} />
              <Tooltip formatter={(v) => [formatCount(Number(v)), 'rows']} labelFormatter={buildLabel} />
              <Line type="monotone" dataKey="rowCount" name="rows" stroke={SERIES_COLORS[0]} strokeWidth={2} dot={{ r: 3 }} isAnimationActive={false} />
            </LineChart>
          </ResponsiveContainer>
        </figure>
        <figure className="chart" aria-label="Null rate by column over builds">
          <figcaption>Null rate by column{nullColumns.length === MAX_NULL_SERIES ? ` (top ${MAX_NULL_SERIES})` : ''}</figcaption>
          {nullColumns.length === 0 ? (
            <p className="chart-empty">No column has had a null value in {history.length === 1 ? 'this build' : `these ${history.length} builds`}.</p>
          ) : (
            <ResponsiveContainer width="100%" height={220}>
              <LineChart data={rows} margin={{ top: 8, right: 16, bottom: 4, left: 8 }}>
                <CartesianGrid stroke="#f4f4f5" vertical={false} />
                <XAxis dataKey="label" tick={tick} tickLine={false} axisLine={{ stroke: '#e4e4e7' }} minTickGap={24} />
                <YAxis tick={tick} tickLine={false} axisLine={false} width={48} tickFormatter={(v: number) => formatPercent(v)} domain={[0, 'auto']} />
                <Tooltip formatter={(v, n) => [formatPercent(Number(v)), String(n)]} labelFormatter={buildLabel} />
                <Legend iconType="plainline" wrapperStyle={{ fontSize: 12 }} />
                {nullColumns.map((c, i) => (
                  <Line key={c.name} type="monotone" dataKey={`null:${c.name}`} name={c.name} stroke={SERIES_COLORS[i % SERIES_COLORS.length]} strokeWidth={2} dot={{ r: 3 }} isAnimationActive={false} />
                ))}
              </LineChart>
            </ResponsiveContainer>
          )}
        </figure>
      </div>
      <ColumnStats point={latest} />
    </div>
  );
}

/** The tooltip's title: the build's number in this history and its full time. */
function buildLabel(_label: unknown, payload: readonly { payload?: { build?: number; when?: string } }[]): string {
  const p = payload[0]?.payload;
  return p ? `Build ${p.build} · ${p.when}` : '';
}

function ColumnStats({ point }: { point: MetricsPoint }) {
  const show = (v: number | string | null | undefined) => (v === null || v === undefined ? '—' : typeof v === 'number' ? formatNumber(v) : v);
  const sampleRows = point.columns.find((c) => c.approximate)?.sampleRows;
  return (
    <div className="table-scroll">
      {sampleRows !== undefined && (
        <p className="muted" role="note">
          Estimated from a sample of {formatCount(sampleRows)} rows (the row count is exact).
        </p>
      )}
      <table className="table table-compact column-stats" aria-label="Column statistics of the latest build">
        <thead>
          <tr>
            <th>Column</th>
            <th className="align-right">Nulls</th>
            <th className="align-right">Null rate</th>
            <th className="align-right">Distinct</th>
            <th className="align-right">Min</th>
            <th className="align-right">Max</th>
            <th className="align-right">Mean</th>
          </tr>
        </thead>
        <tbody>
          {point.columns.map((c) => (
            <tr key={c.name}>
              <td>
                <code>{c.name}</code>
              </td>
              <td className="align-right tabular">{formatCount(c.nullCount)}</td>
              <td className="align-right tabular">{formatPercent(point.rowCount ? c.nullCount / point.rowCount : 0)}</td>
              <td className="align-right tabular">{c.distinctCount === undefined ? '—' : formatCount(c.distinctCount)}</td>
              <td className="align-right tabular truncate">{show(c.min)}</td>
              <td className="align-right tabular truncate">{show(c.max)}</td>
              <td className="align-right tabular">{show(c.mean)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
