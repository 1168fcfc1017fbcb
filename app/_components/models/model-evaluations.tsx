'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { CartesianGrid, Legend, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { formatDateTime } from '../format';
import { useTRPC } from '../trpc';
import { Card, EmptyState, ErrorMessage, Loading } from '../ui';
import { formatAuc, formatCount, formatMetric, formatShare } from './format';
import type { ModelVersionSummary } from './types';
import type { RouterOutputs } from '../types';

type StoredEvaluation = RouterOutputs['models']['evaluations'][number];
type EvaluationMetrics = { rows: number; positives: number; auc: { auc: number; lower: number; upper: number }; logLoss: number; roc: { fpr: number; tpr: number }[] };

const COLORS = ['#4f46e5', '#f59e0b', '#10b981', '#ef4444', '#0ea5e9', '#a855f7'];
const tick = { fontSize: 11, fill: '#71717a' };
const metricsOf = (e: StoredEvaluation) => e.metrics as unknown as EvaluationMetrics;

/**
 * "Evaluate on…": score a labelled dataset with a version and store the evaluation; the stored
 * evaluations listed; and, per evaluation dataset, the latest evaluation of each version side by side
 * (ROC curves on one chart).
 */
export function ModelEvaluations({ projectId, name, versions, selected, canRun }: { projectId: string; name: string; versions: ModelVersionSummary[]; selected: number | null; canRun: boolean }) {
  const trpc = useTRPC();
  const evaluations = useQuery(trpc.models.evaluations.queryOptions({ projectId, name }));
  const [compareOn, setCompareOn] = useState<string | null>(null);
  const list = evaluations.data ?? [];
  const datasets = [...new Set(list.map((e) => e.dataset))];
  const dataset = compareOn && datasets.includes(compareOn) ? compareOn : (datasets[0] ?? null);
  return (
    <Card title="Evaluations" description="Any version scored on any labelled dataset of the project: stored, and compared on the same dataset." id="evaluations">
      <div className="stack">
        {canRun && versions.length > 0 && <EvaluateOn projectId={projectId} name={name} versions={versions} selected={selected} onDone={setCompareOn} />}
        {evaluations.isPending ? (
          <Loading />
        ) : evaluations.isError ? (
          <ErrorMessage error={evaluations.error} />
        ) : list.length === 0 ? (
          <EmptyState title="No evaluations yet.">Evaluate a version on a labelled dataset (one with the model&apos;s features and target) to see how it does on data it was not trained on.</EmptyState>
        ) : (
          <>
            <EvaluationsTable evaluations={list} />
            {dataset && <SideBySide evaluations={list.filter((e) => e.dataset === dataset)} dataset={dataset} datasets={datasets} onDataset={setCompareOn} />}
          </>
        )}
      </div>
    </Card>
  );
}

function EvaluateOn({ projectId, name, versions, selected, onDone }: { projectId: string; name: string; versions: ModelVersionSummary[]; selected: number | null; onDone: (dataset: string) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const datasets = useQuery(trpc.datasets.list.queryOptions({ projectId }));
  const [version, setVersion] = useState<number>(selected ?? versions[0]!.version);
  const [dataset, setDataset] = useState('');
  const run = useMutation(
    trpc.models.evaluate.mutationOptions({
      onSuccess: async (e) => {
        await queryClient.invalidateQueries({ queryKey: trpc.models.evaluations.queryKey({ projectId, name }) });
        onDone(e.dataset);
      },
    }),
  );
  const chosen = dataset || datasets.data?.[0]?.name || '';
  return (
    <form
      className="evaluate-on"
      aria-label="Evaluate on a dataset"
      onSubmit={(e) => {
        e.preventDefault();
        if (chosen) run.mutate({ projectId, name, version, dataset: chosen });
      }}
    >
      <label className="field">
        <span>Version</span>
        <select name="evaluateVersion" value={version} onChange={(e) => setVersion(Number(e.target.value))}>
          {versions.map((v) => (
            <option key={v.id} value={v.version}>
              v{v.version}
              {v.champion ? ' (champion)' : ''}
            </option>
          ))}
        </select>
      </label>
      <label className="field">
        <span>Evaluate on…</span>
        <select name="evaluateDataset" value={chosen} onChange={(e) => setDataset(e.target.value)} disabled={!datasets.data?.length}>
          {datasets.data?.length ? (
            datasets.data.map((d) => (
              <option key={d.id} value={d.name}>
                {d.name} ({formatCount(d.rowCount)} rows)
              </option>
            ))
          ) : (
            <option value="">no datasets</option>
          )}
        </select>
      </label>
      <button type="submit" className="btn btn-primary" disabled={!chosen || run.isPending}>
        {run.isPending ? 'Evaluating…' : 'Evaluate'}
      </button>
      <ErrorMessage error={run.error} />
    </form>
  );
}

function EvaluationsTable({ evaluations }: { evaluations: StoredEvaluation[] }) {
  return (
    <div className="table-scroll">
      <table className="table" aria-label="Stored evaluations">
        <thead>
          <tr>
            <th>Version</th>
            <th>Dataset</th>
            <th>AUC (95% CI)</th>
            <th className="align-right">Log loss</th>
            <th className="align-right">Rows</th>
            <th className="align-right">Positives</th>
            <th>When</th>
            <th>Who</th>
          </tr>
        </thead>
        <tbody>
          {evaluations.map((e) => {
            const m = metricsOf(e);
            return (
              <tr key={e.id} data-evaluation={e.id}>
                <td className="strong">v{e.version}</td>
                <td>
                  <code>{e.dataset}</code>
                  {e.environment === 'production' && <span className="muted"> (production)</span>}
                </td>
                <td className="tabular nowrap">{formatAuc(m.auc)}</td>
                <td className="align-right tabular">{formatMetric(m.logLoss)}</td>
                <td className="align-right tabular">{formatCount(m.rows)}</td>
                <td className="align-right tabular">{formatShare(m.rows ? m.positives / m.rows : null)}</td>
                <td className="nowrap">{formatDateTime(e.createdAt)}</td>
                <td className="truncate">{e.createdBy}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** The latest evaluation of each version on one dataset: AUCs in a row and the ROC curves on one chart. */
function SideBySide({ evaluations, dataset, datasets, onDataset }: { evaluations: StoredEvaluation[]; dataset: string; datasets: string[]; onDataset: (d: string) => void }) {
  const latest = new Map<number, StoredEvaluation>();
  for (const e of evaluations) if (!latest.has(e.version) || latest.get(e.version)!.createdAt < e.createdAt) latest.set(e.version, e);
  const shown = [...latest.values()].sort((a, b) => a.version - b.version);
  const percentTick = (v: number) => `${Math.round(v * 100)}%`;
  return (
    <figure className="model-chart" aria-label="Versions compared" data-testid="evaluations-compare">
      <figcaption>
        Versions compared on{' '}
        {datasets.length > 1 ? (
          <select name="compareDataset" value={dataset} onChange={(e) => onDataset(e.target.value)}>
            {datasets.map((d) => (
              <option key={d}>{d}</option>
            ))}
          </select>
        ) : (
          <code>{dataset}</code>
        )}
      </figcaption>
      <div className="chart-note">
        {shown.map((e, i) => (
          <span key={e.id} style={{ color: COLORS[i % COLORS.length], marginRight: 16 }} data-compare-version={e.version}>
            v{e.version}: AUC {formatAuc(metricsOf(e).auc)}
          </span>
        ))}
      </div>
      <ResponsiveContainer width="100%" height={280}>
        <LineChart margin={{ top: 8, right: 12, bottom: 16, left: 0 }}>
          <CartesianGrid stroke="#f4f4f5" />
          <XAxis dataKey="fpr" type="number" domain={[0, 1]} ticks={[0, 0.25, 0.5, 0.75, 1]} tick={tick} tickFormatter={percentTick} label={{ value: 'false positive rate', position: 'insideBottom', offset: -8, fontSize: 11, fill: '#71717a' }} />
          <YAxis type="number" domain={[0, 1]} ticks={[0, 0.25, 0.5, 0.75, 1]} tick={tick} tickFormatter={percentTick} width={40} />
          <ReferenceLine segment={[{ x: 0, y: 0 }, { x: 1, y: 1 }]} stroke="#a1a1aa" strokeDasharray="4 4" ifOverflow="extendDomain" />
          <Tooltip formatter={(v) => formatShare(Number(v))} labelFormatter={(l) => `false positive rate ${formatShare(Number(l))}`} />
          <Legend verticalAlign="top" height={24} />
          {shown.map((e, i) => (
            <Line key={e.id} data={metricsOf(e).roc.map((p) => ({ fpr: p.fpr, tpr: p.tpr }))} dataKey="tpr" name={`v${e.version}`} type="linear" stroke={COLORS[i % COLORS.length]} strokeWidth={2} dot={false} isAnimationActive={false} />
          ))}
        </LineChart>
      </ResponsiveContainer>
    </figure>
  );
}
