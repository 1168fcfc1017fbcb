'use client';

import Link from 'next/link';
import { buildHref, type CheckOutcome } from '../builds/build-types';
import { CheckChips, CheckSummaryText } from '../builds/status-badge';
import { datasetHref, formatCount } from '../datasets/format';
import { formatDateTimeSeconds } from '../format';
import { formatMetric } from '../models/format';
import { modelHref } from '../models/types';
import { scenarioRunHref, type ScenarioRunStep } from './scenario-types';

type Out = Record<string, unknown>;
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

/** What a step produced, per step type: the link to follow, the numbers a person looks for. */
export function StepOutput({ projectId, step }: { projectId: string; step: ScenarioRunStep }) {
  const o: Out = step.output ?? {};
  switch (step.type) {
    case 'build':
      return <BuildOutput projectId={projectId} step={step} o={o} />;
    case 'checks':
      return Array.isArray(o.checks) ? (
        <div className="step-out">
          <CheckChips checks={o.checks as CheckOutcome[]} />
          <CheckSummaryText checks={o.checks as CheckOutcome[]} />
        </div>
      ) : (
        <Nothing />
      );
    case 'metrics':
      return num(o.rowCount) !== null ? (
        <span>
          {formatCount(num(o.rowCount))} rows in <DatasetLink projectId={projectId} name={text(o.dataset)} />
          {Array.isArray(o.columns) && <span className="muted"> · {o.columns.length} columns profiled</span>}
        </span>
      ) : (
        <Nothing />
      );
    case 'sql':
      return num(o.rowCount) !== null ? (
        <span>
          {formatCount(num(o.rowCount))} rows
          {Array.isArray(o.columns) && <span className="muted"> · {o.columns.length} columns</span>}
        </span>
      ) : (
        <Nothing />
      );
    case 'score':
      return num(o.rows) !== null ? (
        <span>
          {formatCount(num(o.rows))} rows written to <DatasetLink projectId={projectId} name={text(o.output)} />
          <span className="muted">
            {' '}
            with {text(o.model)} v{num(o.version)}
          </span>
        </span>
      ) : (
        <Nothing />
      );
    case 'retrain':
      return text(o.decision) ? <RetrainOutput projectId={projectId} o={o} /> : <Nothing />;
    case 'notify': {
      const status = text(o.status);
      if (!status) return <Nothing />;
      return (
        <span>
          <span className={`badge ${status === 'delivered' ? 'badge-ok' : 'badge-warn'}`}>{status}</span>
          <span className="muted">
            {' '}
            {num(o.attempts) !== null && `${num(o.attempts)} attempt${num(o.attempts) === 1 ? '' : 's'}`}
            {num(o.statusCode) !== null && `, HTTP ${num(o.statusCode)}`}
          </span>
        </span>
      );
    }
    case 'run_scenario': {
      const child = step.childRunId ?? text(o.childRunId);
      return child ? (
        <span>
          <Link href={scenarioRunHref(projectId, child)} className="strong-link">
            child run
          </Link>
          {text(o.status) && <span className="muted"> {text(o.status)}</span>}
        </span>
      ) : (
        <Nothing />
      );
    }
    default:
      return <Nothing />;
  }
}

function Nothing() {
  return <span className="muted">—</span>;
}

function DatasetLink({ projectId, name }: { projectId: string; name: string | null }) {
  if (!name) return <span className="muted">a dataset</span>;
  return (
    <Link href={datasetHref(projectId, name)}>
      <code>{name}</code>
    </Link>
  );
}

function BuildOutput({ projectId, step, o }: { projectId: string; step: ScenarioRunStep; o: Out }) {
  const buildRunId = step.childRunId ?? text(o.buildRunId);
  if (!buildRunId) return <Nothing />;
  const succeeded = list(o.succeeded).length;
  const failed = list(o.failed).length;
  const skipped = list(o.skipped).length;
  return (
    <span>
      <Link href={buildHref(projectId, buildRunId)} className="strong-link">
        production build
      </Link>
      {step.output && (
        <span className="muted">
          {' '}
          · {succeeded} built{failed ? `, ${failed} failed` : ''}
          {skipped ? `, ${skipped} skipped` : ''}
        </span>
      )}
    </span>
  );
}

function RetrainOutput({ projectId, o }: { projectId: string; o: Out }) {
  const promoted = o.decision === 'promoted';
  const champion = (o.champion ?? {}) as Out;
  const challenger = (o.challenger ?? {}) as Out;
  const metric = text(o.metric) ?? 'auc';
  const model = text(o.model);
  const shadowing = o.decision === 'shadowing' ? ((o.shadowing ?? {}) as Out) : null;
  const shadow = (o.shadow ?? null) as Out | null;
  const labelled = (shadow?.labelled ?? null) as Out | null;
  const endpointNames = (v: unknown) => (Array.isArray(v) ? v.map((e) => String((e as { name?: unknown }).name ?? e)).join(', ') : '');
  return (
    <div className="step-out retrain-out" data-decision={text(o.decision)}>
      <span className={`badge ${promoted ? 'badge-ok' : shadowing ? 'badge-status-running' : 'badge-neutral'}`}>{promoted ? 'promoted' : shadowing ? 'shadow-scoring' : 'kept champion'}</span>{' '}
      <span className="tabular">
        challenger {metric} <strong>{formatMetric(num(challenger.value))}</strong> vs champion{' '}
        {model ? <Link href={modelHref(projectId, model, num(champion.version) ?? undefined)}>v{num(champion.version)}</Link> : `v${num(champion.version)}`}{' '}
        <strong>{formatMetric(num(champion.value))}</strong>
      </span>
      {promoted && model && num(challenger.version) !== null && (
        <span>
          {' '}
          → <Link href={modelHref(projectId, model, num(challenger.version)!)}>v{num(challenger.version)}</Link> is champion
        </span>
      )}
      {shadowing && model && (
        <div className="small" data-testid="retrain-shadowing">
          <Link href={modelHref(projectId, model, num(shadowing.version) ?? undefined)}>v{num(shadowing.version)}</Link> shadow-scores {endpointNames(shadowing.endpoints)} until{' '}
          {formatDateTimeSeconds(text(shadowing.until) ?? '')}: its scores are logged, never returned; then the shadow comparison decides.
        </div>
      )}
      <div className="muted small">
        gate: challenger {text(o.comparator)} champion{num(o.minImprovement) ? ` ${text(o.comparator)?.startsWith('<') ? '−' : '+'} ${num(o.minImprovement)}` : ''}, on{' '}
        {formatCount(num(o.evaluatedRows) ?? num(o.holdoutRows))} holdout rows
        {num(o.championSeenRows) ? ` (${formatCount(num(o.championSeenRows))} left out: the champion trained on them)` : ''}
        {shadow && (
          <>
            {' '}
            · shadow on {endpointNames(shadow.endpoints)}: {formatCount(num(shadow.pairs))} records
            {num(shadow.agreement) !== null ? `, ${((num(shadow.agreement) ?? 0) * 100).toFixed(1)}% agreement` : ''}
            {num(shadow.meanAbsDiff) !== null ? `, mean |Δp| ${num(shadow.meanAbsDiff)!.toFixed(3)}` : ''}
            {labelled && num(labelled.shadowAuc) !== null && num(labelled.servedAuc) !== null
              ? `, live AUC ${formatMetric(num(labelled.shadowAuc))} vs ${formatMetric(num(labelled.servedAuc))} on ${formatCount(num(labelled.rows))} labelled`
              : ''}
          </>
        )}
      </div>
    </div>
  );
}
