'use client';

import './results.css';
import { Area, AreaChart, Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Scatter, ScatterChart, Tooltip, XAxis, YAxis } from 'recharts';
import { formatNumber } from '../datasets/format';
import { chartAggregates, chartTypes, missingColumns, type ChartData, type ChartSpecView } from './chart-types';
import { formatTimestamp } from './format-value';
import type { ResultColumn } from './result-types';

const COLORS = ['#4f46e5', '#dc2626', '#0891b2', '#ca8a04', '#16a34a', '#db2777', '#7c3aed', '#ea580c', '#0f766e', '#9333ea'];
/** More colour series than this is a legend nobody reads: the rest are summed into "other". */
const MAX_SERIES = 10;
const tick = { fontSize: 12, fill: '#52525b' };

/** The chart's picker: type, x, y, colour and aggregation, from the result's columns. */
export function ChartControls({ spec, columns, onChange, disabled }: { spec: ChartSpecView; columns: ResultColumn[]; onChange: (s: ChartSpecView) => void; disabled: boolean }) {
  const set = (patch: Partial<ChartSpecView>) => {
    const next: ChartSpecView = { ...spec, ...patch };
    for (const k of ['y', 'color'] as const) if (!next[k]) delete next[k];
    onChange(next);
  };
  const numbers = columns.filter((c) => c.type === 'integer' || c.type === 'numeric');
  const histogram = spec.type === 'histogram';
  return (
    <div className="chart-controls" role="group" aria-label="Chart settings">
      <label>
        <span>Chart</span>
        <select className="select-sm" value={spec.type} disabled={disabled} onChange={(e) => set({ type: e.target.value as ChartSpecView['type'] })} aria-label="Chart type">
          {chartTypes.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </label>
      <label>
        <span>x</span>
        <select className="select-sm" value={spec.x} disabled={disabled} onChange={(e) => set({ x: e.target.value })} aria-label="x column">
          {!columns.some((c) => c.name === spec.x) && <option value={spec.x}>{spec.x} (missing)</option>}
          {columns.map((c) => (
            <option key={c.name} value={c.name}>
              {c.name}
            </option>
          ))}
        </select>
      </label>
      {!histogram && (
        <label>
          <span>y</span>
          <select className="select-sm" value={spec.y ?? ''} disabled={disabled} onChange={(e) => set({ y: e.target.value })} aria-label="y column">
            <option value="">(rows)</option>
            {spec.y && !columns.some((c) => c.name === spec.y) && <option value={spec.y}>{spec.y} (missing)</option>}
            {numbers.map((c) => (
              <option key={c.name} value={c.name}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
      )}
      {!histogram && (
        <label>
          <span>aggregate</span>
          <select className="select-sm" value={spec.aggregate ?? 'none'} disabled={disabled} onChange={(e) => set({ aggregate: e.target.value as ChartSpecView['aggregate'] })} aria-label="Aggregation">
            {chartAggregates.map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </select>
        </label>
      )}
      <label>
        <span>colour</span>
        <select className="select-sm" value={spec.color ?? ''} disabled={disabled} onChange={(e) => set({ color: e.target.value })} aria-label="Colour column">
          <option value="">(none)</option>
          {spec.color && !columns.some((c) => c.name === spec.color) && <option value={spec.color}>{spec.color} (missing)</option>}
          {columns.map((c) => (
            <option key={c.name} value={c.name}>
              {c.name}
            </option>
          ))}
        </select>
      </label>
    </div>
  );
}

const keyIn = (row: Record<string, unknown> | undefined, keys: (string | undefined)[]): string | undefined => (row ? keys.find((k): k is string => !!k && k in row) : undefined);

/**
 * Rows as the server aggregated them, keyed for Recharts: one point per x, one numeric field per
 * colour value. The server names its fields after the spec's columns (or x/y/color and lo/hi/count).
 */
export function chartSeries(spec: ChartSpecView, rows: Record<string, unknown>[], xType: string): { points: Record<string, unknown>[]; series: string[]; xKey: string } {
  const first = rows[0];
  const histogram = spec.type === 'histogram';
  const loKey = histogram ? keyIn(first, ['lo', 'bin_lo', 'bin_start']) : undefined;
  const hiKey = histogram ? keyIn(first, ['hi', 'bin_hi', 'bin_end']) : undefined;
  const xKey = loKey ?? keyIn(first, [spec.x, 'x', 'bin']) ?? spec.x;
  const colorKey = spec.color ? keyIn(first, [spec.color, 'color']) : undefined;
  const yKey =
    keyIn(first, histogram ? ['count', 'y'] : [spec.y && spec.aggregate && spec.aggregate !== 'none' ? `${spec.aggregate}_${spec.y}` : undefined, spec.y, 'y', spec.aggregate === 'count' ? 'count' : undefined, 'value', 'count']) ??
    Object.keys(first ?? {}).find((k) => k !== xKey && k !== colorKey && k !== hiKey && typeof first?.[k] === 'number') ??
    'count';
  const label = (v: unknown): string => (v === null || v === undefined ? 'NULL' : xType === 'timestamp' ? formatTimestamp(v) : typeof v === 'number' ? formatNumber(v) : String(v));
  if (!colorKey) {
    const points = rows.map((r) => ({
      __x: histogram && hiKey ? `${label(r[xKey])} – ${label(r[hiKey])}` : spec.type === 'scatter' ? Number(r[xKey]) : label(r[xKey]),
      [yKey]: r[yKey] === null ? null : Number(r[yKey]),
    }));
    return { points, series: [yKey], xKey: '__x' };
  }
  const totals = new Map<string, number>();
  for (const r of rows) {
    const c = label(r[colorKey]);
    totals.set(c, (totals.get(c) ?? 0) + Math.abs(Number(r[yKey]) || 0));
  }
  const kept = new Set([...totals.entries()].sort((a, b) => b[1] - a[1]).slice(0, MAX_SERIES).map(([c]) => c));
  const byX = new Map<string, Record<string, unknown>>();
  const order: string[] = [];
  for (const r of rows) {
    const x = label(r[xKey]);
    let point = byX.get(x);
    if (!point) {
      point = { __x: spec.type === 'scatter' ? Number(r[xKey]) : x };
      byX.set(x, point);
      order.push(x);
    }
    const c0 = label(r[colorKey]);
    const c = kept.has(c0) ? c0 : 'other';
    point[c] = ((point[c] as number | undefined) ?? 0) + (Number(r[yKey]) || 0);
  }
  const series = [...kept];
  if (totals.size > kept.size) series.push('other');
  return { points: order.map((x) => byX.get(x)!), series, xKey: '__x' };
}

/** The chart itself, or in its place what is wrong (a missing column, the server's error, no rows). */
/**
 * `stale`: `data` was computed for the previous spec (kept on screen while the new one loads): drawn
 * dimmed and labelled as updating, never under the new spec's name.
 */
export function ResultChart({ spec, columns, data, loading, stale = false }: { spec: ChartSpecView; columns: ResultColumn[]; data: ChartData | undefined; loading: boolean; stale?: boolean }) {
  const missing = missingColumns(spec, columns);
  if (missing.length > 0) {
    return (
      <p className="chart-message chart-message-error" role="alert">
        The result has no column {missing.map((m) => `“${m}”`).join(' or ')}: pick {missing.length === 1 ? 'another' : 'others'} above.
      </p>
    );
  }
  if (data?.error) {
    return (
      <p className="chart-message chart-message-error" role="alert">
        {data.error}
      </p>
    );
  }
  if (!data) return <p className="chart-message muted">{loading ? 'Loading the chart…' : 'No chart data.'}</p>;
  if (data.rows.length === 0) return <p className="chart-message muted">No rows to chart.</p>;
  const xType = columns.find((c) => c.name === spec.x)?.type ?? 'text';
  const { points, series } = chartSeries(spec, data.rows, xType);
  const common = { data: points, margin: { top: 8, right: 20, bottom: 8, left: 8 } };
  const axes = (
    <>
      <CartesianGrid stroke="#f1f1f3" vertical={spec.type === 'scatter'} />
      <XAxis dataKey="__x" type={spec.type === 'scatter' ? 'number' : 'category'} tick={tick} tickLine={false} axisLine={{ stroke: '#d4d4d8' }} minTickGap={16} name={spec.x} domain={spec.type === 'scatter' ? ['auto', 'auto'] : undefined} />
      <YAxis tick={tick} tickLine={false} axisLine={false} width={64} tickFormatter={(v: number) => formatNumber(v)} />
      <Tooltip formatter={(v) => formatNumber(Number(v))} />
      {series.length > 1 && <Legend wrapperStyle={{ fontSize: 12 }} />}
    </>
  );
  const color = (i: number) => COLORS[i % COLORS.length]!;
  let chart;
  switch (spec.type) {
    case 'line':
      chart = (
        <LineChart {...common}>
          {axes}
          {series.map((s, i) => (
            <Line key={s} dataKey={s} name={s} stroke={color(i)} strokeWidth={2} dot={points.length < 60} isAnimationActive={false} connectNulls />
          ))}
        </LineChart>
      );
      break;
    case 'area':
      chart = (
        <AreaChart {...common}>
          {axes}
          {series.map((s, i) => (
            <Area key={s} dataKey={s} name={s} stroke={color(i)} fill={color(i)} fillOpacity={0.25} stackId={series.length > 1 ? 'a' : undefined} isAnimationActive={false} />
          ))}
        </AreaChart>
      );
      break;
    case 'scatter':
      chart = (
        <ScatterChart {...common}>
          {axes}
          {series.map((s, i) => (
            <Scatter key={s} dataKey={s} name={s} fill={color(i)} isAnimationActive={false} />
          ))}
        </ScatterChart>
      );
      break;
    case 'bar':
    case 'histogram':
      chart = (
        <BarChart {...common} barCategoryGap={spec.type === 'histogram' ? 1 : '15%'}>
          {axes}
          {series.map((s, i) => (
            <Bar key={s} dataKey={s} name={s} fill={color(i)} stackId={series.length > 1 ? 'a' : undefined} isAnimationActive={false} />
          ))}
        </BarChart>
      );
      break;
  }
  return (
    <figure
      className={stale ? 'result-chart result-chart-stale' : 'result-chart'}
      aria-label={stale ? 'chart, updating' : `${spec.type} chart of ${spec.y ? `${spec.aggregate && spec.aggregate !== 'none' ? `${spec.aggregate} of ` : ''}${spec.y}` : 'rows'} by ${spec.x}`}
      aria-busy={stale}
      data-points={points.length}
    >
      <ResponsiveContainer width="100%" height={280}>
        {chart}
      </ResponsiveContainer>
      <figcaption className="small muted">
        {data.aggregated ? 'Aggregated over the whole result' : 'From the result’s rows'}
        {data.sampled && ' · sampled'}
      </figcaption>
    </figure>
  );
}
