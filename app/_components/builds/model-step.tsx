'use client';

import Link from 'next/link';
import { datasetHref, formatCount } from '../datasets/format';
import { LeaderboardTable } from '../models/leaderboard';
import type { BuildStep } from './build-types';

export const modelHref = (projectId: string, name: string, version?: number) =>
  `/projects/${projectId}/models/${encodeURIComponent(name)}${version ? `?version=${version}` : ''}`;

export const isModelStep = (step: Pick<BuildStep, 'kind'>) => step.kind === 'train' || step.kind === 'score';

/** How a step reads in lists: "train risk", "score → scored", "check credit", "clean". */
export function stepLabel(step: Pick<BuildStep, 'kind' | 'dataset' | 'model'>): string {
  switch (step.kind) {
    case 'train':
      return `train ${step.model ?? ''}`.trim();
    case 'score':
      return `score → ${step.dataset}`;
    case 'check':
      return `check ${step.dataset}`;
    default:
      return step.dataset;
  }
}

/**
 * A running train or score step: its stage, a bar (or an indeterminate one while reading), and the
 * detail (left out when `compact`, as in the notebook's build bar).
 */
export function StepProgress({ step, compact = false }: { step: BuildStep; compact?: boolean }) {
  const p = step.progress;
  if (step.status !== 'running' || !isModelStep(step)) return null;
  const fraction = p?.fraction ?? null;
  const stage = p?.stage ?? 'starting';
  return (
    <span className={`step-progress${compact ? ' step-progress-compact' : ''}`} data-stage={stage} title={compact ? p?.message : undefined}>
      <span className="step-progress-stage">{stage}</span>
      <span
        className={`step-progress-bar${fraction === null ? ' step-progress-indeterminate' : ''}`}
        role="progressbar"
        aria-label={`${stepLabel(step)}: ${stage}`}
        aria-valuemin={0}
        aria-valuemax={100}
        {...(fraction === null ? {} : { 'aria-valuenow': Math.round(fraction * 100) })}
      >
        <span className="step-progress-fill" style={{ width: fraction === null ? undefined : `${Math.max(2, fraction * 100).toFixed(1)}%` }} />
      </span>
      {p?.message && !compact && <span className="step-progress-message muted small">{p.message}</span>}
    </span>
  );
}

/** What a finished train or score step produced: the new version (with its AUC), or the rows written. */
export function StepResultLink({ projectId, step }: { projectId: string; step: BuildStep }) {
  const r = step.result;
  if (!r || step.status !== 'succeeded') return null;
  if (r.kind === 'train') {
    const link = (
      <Link className="step-result" href={modelHref(projectId, r.model, r.version)} data-testid="step-result">
        <code>{r.model}</code> version {r.version}
        {r.value !== null && `, ${r.metric.toUpperCase()} ${r.value.toFixed(2)}`}
      </Link>
    );
    if (!r.leaderboard) return link;
    return (
      <div className="step-leaderboard">
        {link}
        <LeaderboardTable projectId={projectId} model={r.model} metric={r.leaderboard.metric} rows={r.leaderboard.rows} current={r.version} />
      </div>
    );
  }
  return (
    <Link className="step-result" href={datasetHref(projectId, step.dataset)} data-testid="step-result">
      {formatCount(r.rows)} rows → <code>{step.dataset}</code>
      <span className="muted">
        {' '}
        ({r.model} version {r.version})
      </span>
    </Link>
  );
}
