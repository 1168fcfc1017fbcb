'use client';

import '../builds/builds.css';
import '../datasets/datasets.css';
import Link from 'next/link';
import { buildHref, isLive } from '../builds/build-types';
import { isModelStep, StepProgress } from '../builds/model-step';
import { BuildStatusBadge } from '../builds/status-badge';
import type * as Y from 'yjs';
import { useNotebookPipeline } from './notebook-pipeline';
import { useCellNames } from './use-cell-names';

/**
 * The notebook's pipeline at a glance: whether it compiles, the latest build and its progress, and
 * for editors Run all and Cancel.
 */
export function NotebookBuildBar({ doc }: { doc: Y.Doc | null }) {
  const p = useNotebookPipeline();
  const latest = p.latest;
  const live = isLive(latest?.status);
  const errors = p.compiled?.diagnostics.filter((d) => d.severity === 'error').length ?? 0;
  const warnings = (p.compiled?.diagnostics.length ?? 0) - errors;
  const cells = p.compiled?.graph.nodes.filter((n) => n.type === 'cell') ?? [];
  const builds = cells.filter((n) => n.kind === 'sql' || n.kind === 'ts' || n.kind === 'python' || n.kind === 'score').length;
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
              ? `${errors} problem${errors === 1 ? '' : 's'}: Run all leaves ${errors === 1 ? 'that cell' : 'those cells'} and what depends on ${errors === 1 ? 'it' : 'them'} out`
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
        <button type="button" className="btn btn-sm btn-primary" onClick={() => p.run({ kind: 'all' })} disabled={live || p.starting !== null} title={errors ? 'Build everything that compiles; cells with problems and what depends on them are skipped' : 'Build every dataset of the notebook'}>
          <span aria-hidden>▶</span> {p.starting?.kind === 'all' ? 'Starting…' : 'Run all'}
        </button>
      )}
      {doc && p.skipped.length > 0 && <SkippedCells doc={doc} skipped={p.skipped} />}
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

/** What the last Run all left out and why, by cell name; a name opens the cell. */
function SkippedCells({ doc, skipped }: { doc: Y.Doc; skipped: { cellId: string; name: string; reason: string }[] }) {
  const { nameOf } = useCellNames(doc);
  return (
    <div className="skipped-cells" role="status" data-testid="skipped-cells">
      Skipped {plural(skipped.length, 'cell')}:
      <ul>
        {skipped.map((s) => (
          <li key={s.cellId}>
            <Link href={`?cell=${encodeURIComponent(s.cellId)}`}>{s.name || nameOf(s.cellId)}</Link>: {s.reason}
          </li>
        ))}
      </ul>
    </div>
  );
}
