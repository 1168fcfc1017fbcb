'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { CartesianGrid, Legend, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { useTRPC } from '../trpc';
import type { RouterOutputs } from '../types';
import { Card, EmptyState, ErrorMessage, Loading } from '../ui';
import { Tile } from './endpoint-traffic';
import { formatCount, formatMetric } from './format';

type EndpointDrift = RouterOutputs['endpoints']['drift'];
type DriftReport = EndpointDrift['reports'][number];

const PALETTE = ['#4f46e5', '#0891b2', '#db2777', '#f59e0b', '#16a34a', '#7c3aed', '#dc2626', '#0d9488', '#ca8a04', '#64748b'];
const tick = { fontSize: 11, fill: '#71717a' };
const shortTime = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
const fullTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const pValue = (p: number) => (p < 0.0001 ? '< 0.0001' : p.toFixed(4));

/** Below 0.1 stable, up to the threshold moderate, above it drifted (the usual PSI reading). */
function flagOf(psi: number, threshold: number): { label: string; className: string } {
  if (psi > threshold) return { label: 'drift', className: 'badge badge-status-failed' };
  if (psi > threshold / 2) return { label: 'moderate', className: 'badge badge-champion' };
  return { label: 'stable', className: 'badge badge-status-succeeded' };
}

/**
 * Drift of the endpoint's logged predictions against the served version's training reference:
 * PSI per feature over time (threshold line), prediction PSI and AUC over time, the latest report's
 * tests. Deployers compute a report over the last 24 hours now; drift steps of scenarios add theirs.
 */
export function EndpointDriftCard({ projectId, name, canDeploy }: { projectId: string; name: string; canDeploy: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const drift = useQuery(trpc.endpoints.drift.queryOptions({ projectId, name }));
  const compute = useMutation(
    trpc.endpoints.computeDrift.mutationOptions({ onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.endpoints.drift.queryKey({ projectId, name }) }) }),
  );
  return (
    <Card
      title="Drift"
      id="drift"
      description="Logged predictions against the training data of the version served: PSI per feature (KS test for numbers, chi-square for categories), PSI of the predicted probabilities, and AUC once labels arrive."
      actions={
        canDeploy && (
          <button type="button" className="btn" disabled={compute.isPending} onClick={() => compute.mutate({ projectId, name, window: { last: '24h' } })}>
            {compute.isPending ? 'Computing…' : 'Compute now (last 24 h)'}
          </button>
        )
      }
    >
      <div className="stack">
        <ErrorMessage error={compute.error} />
        {drift.isPending ? <Loading /> : drift.isError ? <ErrorMessage error={drift.error} /> : <DriftCharts drift={drift.data} />}
      </div>
    </Card>
  );
}

function DriftCharts({ drift }: { drift: EndpointDrift }) {
  const latest = drift.reports.at(-1);
  if (!latest) {
    return (
      <EmptyState title="No drift report yet.">
        Compute one over the last day of predictions, or add a <code>drift</code> step to a scenario.
      </EmptyState>
    );
  }
  const { threshold } = drift;
  const features = [...new Set(drift.reports.flatMap((r) => r.features.map((f) => f.feature)))];
  const rows = drift.reports.map((r) => ({
    label: shortTime.format(new Date(r.computedAt)),
    when: fullTime.format(new Date(r.computedAt)),
    predictionPsi: r.predictionPsi,
    auc: r.auc,
    ...Object.fromEntries(r.features.map((f) => [`psi:${f.feature}`, f.psi])),
  }));
  const whenOf = (_: unknown, payload: readonly { payload?: { when?: string } }[]) => payload[0]?.payload?.when ?? '';
  const psiMax = 1.1 * Math.max(threshold * 1.5, ...drift.reports.flatMap((r) => [r.maxPsi ?? 0]));
  return (
    <div className="stack" data-testid="endpoint-drift">
      <div className="metric-tiles">
        <Tile label="Max PSI" value={formatMetric(latest.maxPsi)} note={flagOf(latest.maxPsi ?? 0, threshold).label} />
        <Tile label="Prediction PSI" value={formatMetric(latest.predictionPsi)} />
        <Tile label="AUC" value={formatMetric(latest.auc)} note={latest.labelledRows !== null ? `${formatCount(latest.labelledRows)} labelled` : 'no labels'} />
        <Tile label="Predictions compared" value={formatCount(latest.rows)} note={`v${latest.version ?? '?'} · ${fullTime.format(new Date(latest.computedAt))}`} />
      </div>
      <div className="grid-2">
        <figure className="model-chart" aria-label="PSI per feature over time">
          <figcaption>PSI per feature (threshold {threshold})</figcaption>
          <ResponsiveContainer width="100%" height={220}>
            <LineChart data={rows} margin={{ top: 8, right: 16, bottom: 4, left: 0 }}>
              <CartesianGrid stroke="#f4f4f5" vertical={false} />
              <XAxis dataKey="label" tick={tick} tickLine={false} axisLine={{ stroke: '#e4e4e7' }} minTickGap={32} />
              <YAxis tick={tick} tickLine={false} axisLine={false} width={44} domain={[0, Number(psiMax.toPrecision(2))]} allowDataOverflow />
              <Tooltip labelFormatter={whenOf} formatter={(v, n) => [formatMetric(Number(v)), String(n)]} />
              <Legend iconType="plainline" wrapperStyle={{ fontSize: 12 }} itemSorter={null} />
              <ReferenceLine y={threshold} stroke="#dc2626" strokeDasharray="4 4" />
              {features.map((f, i) => (
                <Line key={f} type="monotone" dataKey={`psi:${f}`} name={f} stroke={PALETTE[i % PALETTE.length]} strokeWidth={2} dot={{ r: 2 }} isAnimationActive={false} />
              ))}
            </LineChart>
          </ResponsiveContainer>
        </figure>
        <figure className="model-chart" aria-label="Prediction drift and AUC over time">
          <figcaption>Prediction PSI and AUC</figcaption>
          <ResponsiveContainer width="100%" height={220}>
            <LineChart data={rows} margin={{ top: 8, right: 16, bottom: 4, left: 0 }}>
              <CartesianGrid stroke="#f4f4f5" vertical={false} />
              <XAxis dataKey="label" tick={tick} tickLine={false} axisLine={{ stroke: '#e4e4e7' }} minTickGap={32} />
              <YAxis yAxisId="psi" tick={tick} tickLine={false} axisLine={false} width={44} />
              <YAxis yAxisId="auc" orientation="right" tick={tick} tickLine={false} axisLine={false} width={44} domain={[0.5, 1]} />
              <Tooltip labelFormatter={whenOf} formatter={(v, n) => [v === null ? '—' : formatMetric(Number(v)), String(n)]} />
              <Legend iconType="plainline" wrapperStyle={{ fontSize: 12 }} itemSorter={null} />
              <ReferenceLine yAxisId="psi" y={threshold} stroke="#dc2626" strokeDasharray="4 4" />
              <Line yAxisId="psi" type="monotone" dataKey="predictionPsi" name="prediction PSI" stroke="#4f46e5" strokeWidth={2} dot={{ r: 2 }} isAnimationActive={false} />
              <Line yAxisId="auc" type="monotone" dataKey="auc" name="AUC" stroke="#16a34a" strokeWidth={2} dot={{ r: 2 }} connectNulls={false} isAnimationActive={false} />
            </LineChart>
          </ResponsiveContainer>
        </figure>
      </div>
      <LatestTable report={latest} threshold={threshold} />
      {drift.predictionLog.dropped > 0 && (
        <p className="hint" role="status">
          This server dropped {formatCount(drift.predictionLog.dropped)} predictions from its log since it started (buffer of {formatCount(drift.predictionLog.capacity)} full: the database could not keep up).
        </p>
      )}
      {drift.predictionLog.refused > 0 && (
        <p className="hint" role="status">
          The database refused {formatCount(drift.predictionLog.refused)} predictions of this server for their data since it started; they are not in the log (the server's log names each request).
        </p>
      )}
    </div>
  );
}

function LatestTable({ report, threshold }: { report: DriftReport; threshold: number }) {
  return (
    <table className="table" data-testid="drift-latest">
      <caption className="hint">
        Latest report: {formatCount(report.rows)} predictions from {fullTime.format(new Date(report.windowStart))} to {fullTime.format(new Date(report.windowEnd))}, by {report.computedBy}
      </caption>
      <thead>
        <tr>
          <th>Feature</th>
          <th>PSI</th>
          <th>Test</th>
          <th>Statistic</th>
          <th>p-value</th>
          <th>Flag</th>
        </tr>
      </thead>
      <tbody>
        {report.features.map((f) => {
          const flag = flagOf(f.psi, threshold);
          return (
            <tr key={f.feature}>
              <td>
                <code>{f.feature}</code>
              </td>
              <td>{formatMetric(f.psi)}</td>
              <td>{f.test === 'ks' ? 'KS' : 'chi-square'}</td>
              <td>{formatMetric(f.statistic)}</td>
              <td>{pValue(f.pValue)}</td>
              <td>
                <span className={flag.className}>{flag.label}</span>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
