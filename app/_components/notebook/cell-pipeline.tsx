'use client';

import '../builds/builds.css';
import Link from 'next/link';
import { buildHref, isLive } from '../builds/build-types';
import { formatSpan } from '../builds/run-timeline';
import { isModelStep, StepProgress, StepResultLink } from '../builds/model-step';
import { BuildStatusBadge, CheckChips } from '../builds/status-badge';
import { formatCount } from '../datasets/format';
import { useNotebookOutputs } from './notebook-outputs';
import { useNotebookPipeline } from './notebook-pipeline';

/**
 * Run (preview) a SQL or TypeScript cell: its current source against the design data of its inputs,
 * in the build sandbox, publishing nothing; the output is stored and shown to everyone.
 */
export function CellPreviewButton({ cellId, position }: { cellId: string; position: number }) {
  const o = useNotebookOutputs();
  if (!o.canRun) return null;
  const running = o.isRunning(cellId);
  return (
    <button type="button" className="btn btn-sm btn-primary-soft" aria-label={`Run cell ${position}`} title="Preview this cell’s result (Ctrl+Enter); publishes nothing" disabled={running} onClick={() => o.run(cellId)}>
      <span aria-hidden>▶</span> {running ? 'Running…' : 'Run'}
    </button>
  );
}

/**
 * Build this cell, or it and everything downstream of it (editors; cells a build can start from).
 * A cell with problems of its own cannot start a build; problems elsewhere do not stop this one
 * (the build leaves broken cells and what depends on them out, and says so).
 */
export function CellRunButtons({ cellId, position }: { cellId: string; position: number }) {
  const p = useNotebookPipeline();
  if (!p.canRun || !p.isBuildable(cellId)) return null;
  const busy = p.starting !== null || isLive(p.latest?.status);
  const broken = p.diagnosticsOf(cellId).some((d) => d.severity === 'error');
  const startingHere = p.starting && p.starting.kind !== 'all' && p.starting.cellId === cellId ? p.starting.kind : null;
  const title = busy ? 'A build of this notebook is running' : broken ? 'Fix this cell’s problems first' : undefined;
  const what = p.cellKindOf(cellId);
  const previewed = what === 'sql' || what === 'ts' || what === 'python';
  const runTitle = what === 'train' ? 'Train this cell’s model' : what === 'score' ? 'Score this cell’s dataset' : what === 'check' ? 'Run this cell’s checks' : 'Build this cell’s dataset';
  return (
    <span className="cell-run">
      <button type="button" className="btn btn-sm" aria-label={`${previewed ? 'Build' : 'Run'} cell ${position}`} title={title ?? runTitle} disabled={busy || broken} onClick={() => p.run({ kind: 'cell', cellId })}>
        {!previewed && <span aria-hidden>▶ </span>}
        {startingHere === 'cell' ? 'Starting…' : previewed ? 'Build' : 'Run'}
      </button>
      <button type="button" className="btn btn-sm btn-ghost" aria-label={`Run cell ${position} and downstream`} title={title ?? 'Build this cell and every cell that depends on it'} disabled={busy || broken} onClick={() => p.run({ kind: 'downstream', cellId })}>
        {startingHere === 'downstream' ? 'Starting…' : 'Run downstream'}
      </button>
    </span>
  );
}

/** The cell's diagnostics from the last compile, under the editor (the editor marks the same lines). */
export function CellDiagnostics({ cellId }: { cellId: string }) {
  const diagnostics = useNotebookPipeline().diagnosticsOf(cellId);
  if (diagnostics.length === 0) return null;
  return (
    <ul className="cell-diagnostics" aria-label="Problems">
      {diagnostics.map((d, i) => (
        <li key={`${d.line}-${d.column ?? 0}-${i}`} className={`diagnostic diagnostic-${d.severity}`} data-code={d.code}>
          <span className="diagnostic-icon" aria-hidden>
            {d.severity === 'error' ? '✕' : '!'}
          </span>
          <span className="diagnostic-where">
            Line {d.line}
            {d.column !== undefined && `:${d.column}`}
          </span>
          <span className="diagnostic-message">{d.message}</span>
          <span className="sr-only"> ({d.severity})</span>
        </li>
      ))}
    </ul>
  );
}

/** The cell's step in the newest build that ran it, live while it runs. */
export function CellBuildStatus({ cellId }: { cellId: string }) {
  const p = useNotebookPipeline();
  const found = p.stepOf(cellId);
  if (!found) return null;
  const { step, build } = found;
  const older = build.runId !== p.latest?.runId;
  const duration = step.startedAt && step.finishedAt ? formatSpan(new Date(step.finishedAt).getTime() - new Date(step.startedAt).getTime()) : null;
  return (
    <div className={`cell-build cell-build-${step.status}${older ? ' cell-build-older' : ''}`} data-status={step.status} aria-live="polite">
      <BuildStatusBadge status={step.status} />
      {isModelStep(step) ? (
        <>
          {step.status === 'running' && <StepProgress step={step} />}
          {step.status === 'succeeded' && <StepResultLink projectId={p.projectId} step={step} />}
          {step.status !== 'running' && duration && <span className="cell-build-text">{duration}</span>}
        </>
      ) : (
        <span className="cell-build-text">
          <code>{step.dataset}</code>
          {step.rowCount !== null && <> · {formatCount(step.rowCount)} rows</>}
          {duration && <> · {duration}</>}
        </span>
      )}
      {/* A Python cell that registered a model links to the version, as a train cell does. */}
      {!isModelStep(step) && step.result?.kind === 'train' && <StepResultLink projectId={p.projectId} step={step} />}
      {step.checks.length > 0 && <CheckChips checks={step.checks} />}
      <span className="cell-head-spacer" />
      <Link className="cell-build-link" href={buildHref(p.projectId, build.runId)} title={older ? 'This cell was not in the latest build' : undefined}>
        {older ? 'Earlier build' : 'Build'} {build.runId.slice(0, 8)}
      </Link>
      {step.error && <span className="row-error cell-build-error">{step.error}</span>}
    </div>
  );
}
