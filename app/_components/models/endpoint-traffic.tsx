'use client';

import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { useTRPC } from '../trpc';
import type { RouterOutputs } from '../types';
import { Card, EmptyState, ErrorMessage, Loading } from '../ui';
import { formatCount, formatShare } from './format';

type EndpointStats = RouterOutputs['endpoints']['stats'];
type StatsRange = EndpointStats['range'];

const RANGES: { value: StatsRange; label: string; per: string }[] = [
  { value: '1h', label: 'Last hour', per: 'per minute' },
  { value: '24h', label: 'Last day', per: 'per 15 minutes' },
  { value: '7d', label: 'Last week', per: 'per hour' },
];
/** Counts are written by the serving processes every ~5 s; this is how often the page asks again. */
const REFRESH_MS = 10_000;

const COLORS = { ok: '#4f46e5', clientErrors: '#f59e0b', serverErrors: '#dc2626', p50: '#0891b2', p95: '#7c3aed', p99: '#db2777' };
const tick = { fontSize: 11, fill: '#71717a' };
const timeOfDay = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayAndTime = new Intl.DateTimeFormat(undefined, { weekday: 'short', hour: '2-digit', minute: '2-digit' });
const fullTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** Latency ticks on a log axis: 1, 3, 10, 30... ms around the data (percentiles span decades). */
const LATENCY_TICKS = [0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100, 300, 1000, 3000, 10_000, 30_000];
function latencyTicks(points: readonly { p50: number | null; p99: number | null }[]): number[] {
  const values = points.flatMap((p) => [p.p50, p.p99]).filter((v): v is number => v !== null && v > 0);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const from = LATENCY_TICKS.findLastIndex((t) => t <= lo);
  const to = LATENCY_TICKS.findIndex((t) => t >= hi);
  return LATENCY_TICKS.slice(Math.max(0, from), to < 0 ? undefined : to + 1);
}

export function formatLatency(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms >= 1000) return `${Number((ms / 1000).toPrecision(3))} s`;
  return `${Number(ms.toPrecision(ms >= 100 ? 3 : 2))} ms`;
}

/** Requests, errors and latency percentiles over time, from every process serving the endpoint. */
export function EndpointTraffic({ projectId, name }: { projectId: string; name: string }) {
  const trpc = useTRPC();
  const [range, setRange] = useState<StatsRange>('1h');
  const stats = useQuery({ ...trpc.endpoints.stats.queryOptions({ projectId, name, range }), refetchInterval: REFRESH_MS, placeholderData: (prev) => prev });
  const per = RANGES.find((r) => r.value === range)!.per;
  return (
    <Card
      title="Traffic"
      id="traffic"
      description={`Requests to this endpoint over REST and tRPC, ${per}; latency measured in the server. Refreshed every ${REFRESH_MS / 1000} s.`}
      actions={
        <div className="range-picker" role="group" aria-label="Time range">
          {RANGES.map((r) => (
            <button key={r.value} type="button" className="btn" aria-pressed={range === r.value} onClick={() => setRange(r.value)}>
              {r.label}
            </button>
          ))}
        </div>
      }
    >
      {stats.isPending ? <Loading /> : stats.isError ? <ErrorMessage error={stats.error} /> : <TrafficCharts stats={stats.data} per={per} />}
    </Card>
  );
}

function TrafficCharts({ stats, per }: { stats: EndpointStats; per: string }) {
  const { total } = stats;
  if (total.requests === 0) {
    const label = RANGES.find((r) => r.value === stats.range)!.label.toLowerCase();
    return (
      <EmptyState title={`No requests in the ${label}.`}>
        Calls to the predict route and <code>scoring.predict</code> (Try it included) show up here within seconds.
      </EmptyState>
    );
  }
  const errors = total.clientErrors + total.serverErrors;
  const axis = stats.range === '7d' ? dayAndTime : timeOfDay;
  const rows = stats.points.map((p) => {
    const at = new Date(p.at);
    return { ...p, ok: p.requests - p.clientErrors - p.serverErrors, label: axis.format(at), when: fullTime.format(at) };
  });
  const ticks = latencyTicks(stats.points);
  const whenOf = (_: unknown, payload: readonly { payload?: { when?: string } }[]) => payload[0]?.payload?.when ?? '';
  return (
    <div className="stack" data-testid="endpoint-traffic">
      <div className="metric-tiles">
        <Tile label="Requests" value={formatCount(total.requests)} note={`${formatCount(total.records)} records scored`} />
        <Tile label="Errors" value={formatShare(errors / total.requests)} note={`${formatCount(total.clientErrors)} 4xx · ${formatCount(total.serverErrors)} 5xx`} />
        <Tile label="p50" value={formatLatency(total.p50)} note={`mean ${formatLatency(total.meanMs)}`} />
        <Tile label="p95" value={formatLatency(total.p95)} />
        <Tile label="p99" value={formatLatency(total.p99)} />
      </div>
      <div className="grid-2">
        <figure className="model-chart" aria-label="Requests over time">
          <figcaption>Requests {per}</figcaption>
          <ResponsiveContainer width="100%" height={220}>
            <BarChart data={rows} margin={{ top: 8, right: 16, bottom: 4, left: 0 }} barCategoryGap={1}>
              <CartesianGrid stroke="#f4f4f5" vertical={false} />
              <XAxis dataKey="label" tick={tick} tickLine={false} axisLine={{ stroke: '#e4e4e7' }} minTickGap={32} />
              <YAxis tick={tick} tickLine={false} axisLine={false} width={44} allowDecimals={false} />
              <Tooltip labelFormatter={whenOf} formatter={(v, n) => [formatCount(Number(v)), String(n)]} />
              <Legend wrapperStyle={{ fontSize: 12 }} itemSorter={null} />
              <Bar dataKey="ok" name="answered" stackId="r" fill={COLORS.ok} isAnimationActive={false} />
              <Bar dataKey="clientErrors" name="4xx" stackId="r" fill={COLORS.clientErrors} isAnimationActive={false} />
              <Bar dataKey="serverErrors" name="5xx" stackId="r" fill={COLORS.serverErrors} isAnimationActive={false} />
            </BarChart>
          </ResponsiveContainer>
        </figure>
        <figure className="model-chart" aria-label="Latency percentiles over time">
          <figcaption>Latency {per} (log scale)</figcaption>
          <ResponsiveContainer width="100%" height={220}>
            <LineChart data={rows} margin={{ top: 8, right: 16, bottom: 4, left: 0 }}>
              <CartesianGrid stroke="#f4f4f5" vertical={false} />
              <XAxis dataKey="label" tick={tick} tickLine={false} axisLine={{ stroke: '#e4e4e7' }} minTickGap={32} />
              <YAxis
                tick={tick}
                tickLine={false}
                axisLine={false}
                width={64}
                scale="log"
                ticks={ticks}
                domain={[ticks[0]!, ticks.at(-1)!]}
                allowDataOverflow
                tickFormatter={(v: number) => formatLatency(v)}
              />
              <Tooltip labelFormatter={whenOf} formatter={(v, n) => [formatLatency(v === null ? null : Number(v)), String(n)]} />
              <Legend iconType="plainline" wrapperStyle={{ fontSize: 12 }} itemSorter={null} />
              {(['p50', 'p95', 'p99'] as const).map((k) => (
                <Line key={k} type="monotone" dataKey={k} name={k} stroke={COLORS[k]} strokeWidth={2} dot={{ r: 2 }} connectNulls={false} isAnimationActive={false} />
              ))}
            </LineChart>
          </ResponsiveContainer>
        </figure>
      </div>
    </div>
  );
}

export function Tile({ label, value, note }: { label: string; value: string; note?: string }) {
  return (
    <div className="metric-tile">
      <div className="metric-tile-label">{label}</div>
      <div className="metric-tile-value">{value}</div>
      {note && <div className="metric-tile-note">{note}</div>}
    </div>
  );
}
