'use client';

import '../builds/builds.css';
import '../datasets/datasets.css';
import Link from 'next/link';
import { buildHref, isLive } from '../builds/build-types';
import { isModelStep, StepProgress } from '../builds/model-step';
import { BuildStatusBadge } from '../builds/status-badge';
import { useNotebookPipeline } from './notebook-pipeline';

/**
 * The notebook's pipeline at a glance: whether it compiles, the latest build and its progress, and
 * for editors Run all and Cancel.
 */
export function NotebookBuildBar() {
  const p = useNotebookPipeline();
  const latest = p.latest;
  const live = isLive(latest?.status);
  const errors = p.compiled?.diagnostics.filter((d) => d.severity === 'error').length ?? 0;
  const warnings = (p.compiled?.diagnostics.length ?? 0) - errors;
  const cells = p.compiled?.graph.nodes.filter((n) => n.type === 'cell') ?? [];
  const builds = cells.filter((n) => n.kind === 'sql' || n.kind === 'ts' || n.kind === 'score').length;
  const checks = cells.filter((n) => n.kind === 'check').length;
  const trains = cells.filter((n) => n.kind === 'train').length;
  const done = latest ? latest.steps.filter((s) => s.status !== 'pending' && s.status !== 'running').length : 0;
  const training = latest?.steps.find((s) => s.status === 'running' && isModelStep(s));

  return (
    <div className="build-bar" role="region" aria-label="Pipeline">
      <span className={`compile-state ${errors ? 'compile-state-error' : 'compile-state-ok'}`} data-errors={errors} aria-live="polite">
        {p.compileError
          ? `Could not compile: ${p.compileError.message}`
          : !p.compiled
            ? 'Compiling…'
            : errors
              ? `${errors} problem${errors === 1 ? '' : 's'} to fix before a build`
              : `Compiles${warnings ? ` with ${warnings} warning${warnings === 1 ? '' : 's'}` : ''} · ${plural(builds, 'dataset')} to build${trains ? `, ${plural(trains, 'model')} to train` : ''}${checks ? `, ${plural(checks, 'check cell')}` : ''}`}
      </span>
      <span className="cell-head-spacer" />
      {latest && (
        <span className="build-bar-latest">
          <span className="muted small">Latest build</span>
          <BuildStatusBadge status={latest.status} />
          <span className="muted small tabular">
            {done}/{latest.steps.length} steps
          </span>
          {training && <StepProgress step={training} compact />}
          <Link href={buildHref(p.projectId, latest.runId)} className="small">
            Open run
          </Link>
        </span>
      )}
      {p.canRun && live && latest && (
        <button type="button" className="btn btn-sm btn-danger-ghost" onClick={() => p.cancel(latest.runId)} disabled={p.cancelling}>
          {p.cancelling ? 'Cancelling…' : 'Cancel'}
        </button>
      )}
      {p.canRun && (
        <button type="button" className="btn btn-sm btn-primary" onClick={() => p.run({ kind: 'all' })} disabled={live || p.starting !== null || errors > 0} title={errors ? 'Fix the problems first' : 'Build every dataset of the notebook'}>
          <span aria-hidden>▶</span> {p.starting?.kind === 'all' ? 'Starting…' : 'Run all'}
        </button>
      )}
      {p.runError && (
        <p className="error build-bar-error" role="alert">
          {p.runError.message}
          <button type="button" className="btn btn-sm btn-ghost" onClick={p.dismissRunError}>
            Dismiss
          </button>
        </p>
      )}
    </div>
  );
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
