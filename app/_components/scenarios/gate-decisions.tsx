'use client';

import './scenarios.css';
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { formatCount } from '../datasets/format';
import { formatDateTime, formatDateTimeSeconds } from '../format';
import { formatMetric } from '../models/format';
import { modelHref } from '../models/types';
import { useTRPC } from '../trpc';
import { Card, ErrorMessage, Loading } from '../ui';
import { scenarioRunHref, type GateDecision } from './scenario-types';

const tick = { fontSize: 11, fill: '#71717a' };
const CHAMPION = '#71717a';
const CHALLENGER = '#4f46e5';
const PROMOTED = '#16a34a';

/**
 * The model page's "Retraining decisions": every gate decision of a scenario's retrain step (from the
 * audit log), drawn as champion against challenger on the gate's metric, then listed with the rule,
 * the decision, the data's fingerprint and the run that decided.
 */
export function GateDecisions({ projectId, model }: { projectId: string; model: string }) {
  const trpc = useTRPC();
  const decisions = useQuery(trpc.models.gateDecisions.queryOptions({ projectId, name: model, limit: 50 }, { refetchInterval: 10_000 }));
  // Most models are never retrained by a scenario: no card for them.
  if (decisions.isSuccess && decisions.data.length === 0) return null;
  return (
    <Card
      title="Retraining decisions"
      id="gate-decisions"
      description="Each time a scenario retrained this model on production data, the gate compared the challenger with the champion on the same holdout rows, leaving out rows the champion trained on."
    >
      {decisions.isPending ? (
        <Loading />
      ) : decisions.isError ? (
        <ErrorMessage error={decisions.error} />
      ) : (
        <div className="stack">
          {decisions.data.some((d) => d.decision !== 'shadowing') && <DecisionsChart decisions={decisions.data.filter((d) => d.decision !== 'shadowing')} />}
          <DecisionsList projectId={projectId} model={model} decisions={decisions.data} />
        </div>
      )}
    </Card>
  );
}

function DecisionsChart({ decisions }: { decisions: GateDecision[] }) {
  const chronological = [...decisions].reverse();
  const metrics = new Set(chronological.map((d) => d.metric));
  const metric = chronological.at(-1)!.metric;
  // One metric per chart: decisions on another metric (an edited gate) are left to the list.
  const data = chronological
    .filter((d) => d.metric === metric)
    .map((d, i) => ({ n: i + 1, at: formatDateTime(d.at), champion: d.champion.value, challenger: d.challenger.value, promoted: d.decision === 'promoted' }));
  const values = data.flatMap((d) => [d.champion, d.challenger]).filter((v): v is number => v !== null);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const pad = Math.max((hi - lo) * 0.15, 0.01);
  return (
    <figure className="model-chart gate-chart" aria-label={`Champion and challenger ${metric} per decision`} data-testid="gate-chart">
      <figcaption>
        Champion vs challenger, {metric}
        {metrics.size > 1 && <span className="muted"> (decisions on the latest gate metric)</span>}
      </figcaption>
      <div className="chart-note">Per decision, oldest first, on the holdout rows of that retrain. A green dot marks a promotion.</div>
      <ResponsiveContainer width="100%" height={220}>
        <LineChart data={data} margin={{ top: 8, right: 16, bottom: 4, left: 0 }}>
          <CartesianGrid stroke="#f4f4f5" />
          <XAxis dataKey="n" tick={tick} tickFormatter={(n) => `#${n}`} padding={{ left: 24, right: 24 }} />
          <YAxis tick={tick} domain={[Math.max(0, lo - pad), hi + pad]} tickFormatter={(v) => Number(v).toFixed(3)} width={48} />
          <Tooltip formatter={(v, name) => [formatMetric(Number(v)), String(name)]} labelFormatter={(_, p) => (p?.[0]?.payload as { at?: string } | undefined)?.at ?? ''} />
          <Legend wrapperStyle={{ fontSize: 12 }} />
          <Line type="linear" dataKey="champion" name="champion" stroke={CHAMPION} strokeDasharray="5 4" strokeWidth={2} isAnimationActive={false} dot={{ r: 4, fill: CHAMPION, strokeDasharray: '0' }} />
          <Line
            type="linear"
            dataKey="challenger"
            name="challenger"
            stroke={CHALLENGER}
            strokeWidth={2}
            isAnimationActive={false}
            dot={(props: { cx?: number; cy?: number; index?: number; payload?: { promoted: boolean } }) => (
              <circle
                key={`dot-${props.index}`}
                cx={props.cx}
                cy={props.cy}
                r={props.payload?.promoted ? 5 : 3}
                fill={props.payload?.promoted ? PROMOTED : '#fff'}
                stroke={props.payload?.promoted ? PROMOTED : CHALLENGER}
                strokeWidth={2}
              />
            )}
          />
        </LineChart>
      </ResponsiveContainer>
    </figure>
  );
}

const gateRule = (d: GateDecision) =>
  `challenger ${d.comparator} champion${d.minImprovement ? ` ${d.comparator.startsWith('<') ? '−' : '+'} ${d.minImprovement}` : ''}${d.minRows ? `, ≥ ${formatCount(d.minRows)} rows` : ''}`;

function DecisionsList({ projectId, model, decisions }: { projectId: string; model: string; decisions: GateDecision[] }) {
  return (
    <ol className="vtimeline decision-timeline">
      {decisions.map((d) => {
        const promoted = d.decision === 'promoted';
        if (d.decision === 'shadowing') return <ShadowingItem key={d.seq} projectId={projectId} model={model} d={d} />;
        return (
          <li key={d.seq} className={promoted ? 'is-promoted is-marked' : 'is-kept'} data-decision={d.decision}>
            <div className="vtimeline-when">{formatDateTime(d.at)}</div>
            <div className="decision-what">
              <span className={`badge ${promoted ? 'badge-ok' : 'badge-neutral'}`}>{promoted ? 'promoted' : 'kept champion'}</span>{' '}
              <Comparison projectId={projectId} model={model} d={d} linkChallenger={promoted} />
            </div>
            <div className="decision-detail muted small">
              gate {gateRule(d)} · judged on {formatCount(d.evaluatedRows)} holdout rows
              {d.championSeenRows !== null && d.championSeenRows > 0 && <> ({formatCount(d.championSeenRows)} left out: the champion trained on them)</>}
              {d.shadow && (
                <>
                  {' '}
                  · shadow v{d.shadow.version} on {d.shadow.endpoints.join(', ')}: {formatCount(d.shadow.pairs)} records
                  {d.shadow.agreement !== null && <>, {(d.shadow.agreement * 100).toFixed(1)}% agreement</>}
                  {d.shadow.labelled?.shadowAuc != null && d.shadow.labelled.servedAuc != null && (
                    <>
                      , live AUC {formatMetric(d.shadow.labelled.shadowAuc)} vs {formatMetric(d.shadow.labelled.servedAuc)}
                    </>
                  )}
                </>
              )}
              {d.data && (
                <>
                  {' '}
                  · data <code>{d.data.dataset}</code> ({formatCount(d.data.rows)} rows, fingerprint <code title={d.data.fingerprint}>{d.data.fingerprint.slice(0, 12)}</code>)
                </>
              )}
              {d.endpoints.length > 0 && <> · repointed {d.endpoints.join(', ')}</>}
              {d.scenarioRunId && (
                <>
                  {' '}
                  · <Link href={scenarioRunHref(projectId, d.scenarioRunId)}>run {d.scenarioRunId.slice(0, 8)}</Link>
                </>
              )}
            </div>
          </li>
        );
      })}
    </ol>
  );
}

/** A challenger that passed the gate and is shadow-scoring live traffic until its decision. */
function ShadowingItem({ projectId, model, d }: { projectId: string; model: string; d: GateDecision }) {
  return (
    <li className="is-shadowing" data-decision="shadowing">
      <div className="vtimeline-when">{formatDateTime(d.at)}</div>
      <div className="decision-what">
        <span className="badge badge-status-running">shadow-scoring</span>{' '}
        <Comparison projectId={projectId} model={model} d={d} linkChallenger />
      </div>
      <div className="decision-detail muted small">
        passed the gate on {formatCount(d.evaluatedRows)} holdout rows; shadow-scores {d.shadow?.endpoints.join(', ')} until {formatDateTimeSeconds(d.shadow?.until ?? '')}, then the shadow comparison decides
        {d.scenarioRunId && (
          <>
            {' '}
            · <Link href={scenarioRunHref(projectId, d.scenarioRunId)}>run {d.scenarioRunId.slice(0, 8)}</Link>
          </>
        )}
      </div>
    </li>
  );
}

/** "auc: challenger 0.760 (v2) vs champion 0.717 (v1)", the challenger linked once it is registered. */
function Comparison({ projectId, model, d, linkChallenger }: { projectId: string; model: string; d: GateDecision; linkChallenger: boolean }) {
  return (
    <span className="tabular">
      {d.metric}: challenger <strong>{formatMetric(d.challenger.value)}</strong>
      {linkChallenger && d.challenger.version !== null && (
        <>
          {' '}
          (<Link href={modelHref(projectId, model, d.challenger.version)}>v{d.challenger.version}</Link>)
        </>
      )}{' '}
      vs champion <strong>{formatMetric(d.champion.value)}</strong> (<Link href={modelHref(projectId, model, d.champion.version)}>v{d.champion.version}</Link>)
    </span>
  );
}
