'use client';

import '../datasets/datasets.css';
import './builds.css';
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { Fragment } from 'react';
import { StepDetailRows, useOpenRows } from '../step-rows';
import { datasetHref, formatCount } from '../datasets/format';
import { ProjectSubpage } from '../datasets/project-subpage';
import { formatDateTimeSeconds, shortId } from '../format';
import { cellKindLabel } from '../notebook/cell-kinds';
import { NotAvailable } from '../team-header';
import { useTRPC } from '../trpc';
import { ErrorMessage, Loading } from '../ui';
import { cellHref, isLive, targetLabel, type Build } from './build-types';
import { isModelStep, modelHref, stepLabel, StepProgress, StepResultLink } from './model-step';
import { RunTimeline, formatSpan } from './run-timeline';
import { BuildStatusBadge, CheckChips, CheckSummaryText } from './status-badge';
import { useBuild, useBuildActions } from './use-builds';

/** `/projects/<id>/builds/<runId>`: a build's steps, timeline, checks and logs, live while it runs. */
export function RunPage({ projectId, runId }: { projectId: string; runId: string }) {
  const build = useBuild(projectId, runId);
  if (build.isError) return <NotAvailable error={build.error} />;
  if (build.isPending) return <Loading />;
  const b = build.data;
  return (
    <ProjectSubpage
      projectId={projectId}
      section="Builds"
      title={`Build ${shortId(b.runId)}`}
      badge={<BuildStatusBadge status={b.status} />}
      actions={({ canEdit }) => canEdit && isLive(b.status) && <CancelButton projectId={projectId} runId={b.runId} />}
    >
      {() => <RunBody projectId={projectId} build={b} />}
    </ProjectSubpage>
  );
}

function CancelButton({ projectId, runId }: { projectId: string; runId: string }) {
  const actions = useBuildActions(projectId);
  return (
    <>
      {actions.error && <span className="row-error">{actions.error.message}</span>}
      <button type="button" className="btn btn-danger-ghost" onClick={() => actions.cancel(runId)} disabled={actions.cancelling}>
        {actions.cancelling ? 'Cancelling…' : 'Cancel build'}
      </button>
    </>
  );
}

type CellInfo = { position: number; kind: Parameters<typeof cellKindLabel>[0] };

function useNotebookCells(projectId: string, notebookId: string | null) {
  const trpc = useTRPC();
  const notebook = useQuery({ ...trpc.notebooks.get.queryOptions({ projectId, notebookId: notebookId ?? '' }), enabled: Boolean(notebookId), retry: false });
  const cells = new Map<string, CellInfo>();
  notebook.data?.snapshot.cells.forEach((c, i) => cells.set(c.id, { position: i + 1, kind: c.kind }));
  return { name: notebook.data?.name ?? null, cells };
}

function RunBody({ projectId, build }: { projectId: string; build: Build }) {
  const { name: notebookName, cells } = useNotebookCells(projectId, build.notebookId);
  // The name the cell had when the build started; runs from before cells had names fall back to position.
  const namesAtStart = new Map(build.steps.map((s) => [s.cellId, s.cellName]));
  const cellName = (cellId: string) => {
    const named = namesAtStart.get(cellId) ?? build.skipped.find((k) => k.cellId === cellId)?.name;
    if (named) return named;
    const c = cells.get(cellId);
    return c ? `cell ${c.position}` : `cell ${shortId(cellId)}`;
  };
  const done = build.stepCounts.succeeded + build.stepCounts.failed + build.stepCounts.skipped + build.stepCounts.cancelled;
  const total = build.steps.length;
  const started = build.startedAt ?? build.createdAt;
  const live = isLive(build.status);

  return (
    <div className="stack">
      <section className="card run-summary" aria-label="Summary">
        <dl className="facts">
          <div>
            <dt>Notebook</dt>
            <dd>
              {build.notebookId ? (
                <Link href={`/projects/${projectId}/notebooks/${build.notebookId}`}>{notebookName ?? shortId(build.notebookId)}</Link>
              ) : (
                <span className="muted">deleted</span>
              )}
            </dd>
          </div>
          <div>
            <dt>Target</dt>
            <dd>{targetLabel(build.target, cellName)}</dd>
          </div>
          <div>
            <dt>Started by</dt>
            <dd>{build.createdBy}</dd>
          </div>
          <div>
            <dt>Started</dt>
            <dd>{formatDateTimeSeconds(started)}</dd>
          </div>
          <div>
            <dt>Duration</dt>
            <dd>{build.finishedAt ? formatSpan(new Date(build.finishedAt).getTime() - new Date(started).getTime()) : live ? 'running…' : '—'}</dd>
          </div>
          <div>
            <dt>Graph</dt>
            <dd>
              <code title={build.graphHash}>{build.graphHash.slice(0, 12)}</code>
            </dd>
          </div>
        </dl>
        <div className="run-progress" role="progressbar" aria-label="Steps finished" aria-valuemin={0} aria-valuemax={total} aria-valuenow={done}>
          {(['succeeded', 'failed', 'skipped', 'cancelled', 'running'] as const).map((s) =>
            build.stepCounts[s] ? <span key={s} className={`run-progress-part run-progress-${s}`} style={{ flexGrow: build.stepCounts[s] }} /> : null,
          )}
          {build.stepCounts.pending > 0 && <span className="run-progress-part run-progress-pending" style={{ flexGrow: build.stepCounts.pending }} />}
        </div>
        <p className="muted small" aria-live="polite">
          {done} of {total} steps finished
          {build.stepCounts.running ? `, ${build.stepCounts.running} running` : ''}
          {build.stepCounts.failed ? `, ${build.stepCounts.failed} failed` : ''}
        </p>
        {build.error && <ErrorMessage error={{ message: build.error }} />}
        {build.skipped.length > 0 && (
          <div className="run-skipped" role="note" aria-label="Cells left out">
            <strong>
              {build.skipped.length} cell{build.skipped.length === 1 ? '' : 's'} left out of this build
            </strong>
            <ul>
              {build.skipped.map((k) => (
                <li key={k.cellId}>
                  {build.notebookId ? <Link href={cellHref(projectId, build.notebookId, k.cellId)}>{k.name}</Link> : k.name}: <span className="muted">{k.reason}</span>
                </li>
              ))}
            </ul>
          </div>
        )}
      </section>

      <section className="card" aria-labelledby="run-timeline">
        <div className="card-head">
          <h2 id="run-timeline">Timeline</h2>
        </div>
        <RunTimeline build={build} stepLabel={stepLabel} />
      </section>

      <section className="card" aria-labelledby="run-steps">
        <div className="card-head">
          <div>
            <h2 id="run-steps">Steps</h2>
            <p className="card-description">
              In dependency order. A dataset is built into a staging table, checked, and published only if no error-level check fails; a train step registers a new model version, a score step writes its
              dataset and then checks it.
            </p>
          </div>
        </div>
        <StepsTable projectId={projectId} build={build} cellName={cellName} cells={cells} />
      </section>
    </div>
  );
}

function StepsTable({ projectId, build, cellName, cells }: { projectId: string; build: Build; cellName: (id: string) => string; cells: Map<string, CellInfo> }) {
  const { isOpen, toggle } = useOpenRows<string>();
  return (
    <div className="table-scroll">
      <table className="table steps-table">
        <thead>
          <tr>
            <th>Status</th>
            <th>Output</th>
            <th>Cell</th>
            <th className="align-right">Rows</th>
            <th>Checks</th>
            <th className="align-right">Duration</th>
            <th className="align-right">Log</th>
          </tr>
        </thead>
        <tbody>
          {build.steps.map((s) => {
            const c = cells.get(s.cellId);
            const expanded = isOpen(s.stepId);
            const duration = s.startedAt && s.finishedAt ? formatSpan(new Date(s.finishedAt).getTime() - new Date(s.startedAt).getTime()) : s.status === 'running' ? 'running…' : '—';
            return (
              <Fragment key={s.stepId}>
                <tr data-step={s.stepId} data-status={s.status}>
                  <td>
                    <BuildStatusBadge status={s.status} />
                  </td>
                  <td>
                    {s.kind === 'train' && s.model ? (
                      <>
                        <Link href={modelHref(projectId, s.model)} className="strong-link">
                          model <code>{s.model}</code>
                        </Link>
                        <span className="muted">
                          {' '}
                          from <Link href={datasetHref(projectId, s.dataset)}>{s.dataset}</Link>
                        </span>
                      </>
                    ) : (
                      <Link href={datasetHref(projectId, s.dataset)} className="strong-link">
                        <code>{s.dataset}</code>
                      </Link>
                    )}
                  </td>
                  <td className="nowrap">
                    {build.notebookId ? <Link href={cellHref(projectId, build.notebookId, s.cellId)}>{cellName(s.cellId)}</Link> : cellName(s.cellId)}
                    <span className="muted"> · {c ? cellKindLabel(c.kind) : s.kind}</span>
                  </td>
                  <td className="align-right tabular">{formatCount(s.rowCount)}</td>
                  <td>
                    <CheckChips checks={s.checks} />
                    <CheckSummaryText checks={s.checks} />
                  </td>
                  <td className="align-right nowrap tabular">{duration}</td>
                  <td className="align-right">
                    <button type="button" className="btn btn-sm btn-ghost" aria-expanded={expanded} aria-controls={`log-${s.stepId}`} onClick={() => toggle(s.stepId)}>
                      {expanded ? 'Hide log' : `Log (${s.log.length})`}
                    </button>
                  </td>
                </tr>
                {isModelStep(s) && (s.status === 'running' || s.result) && (
                  <tr className="step-model-row" data-step={s.stepId}>
                    <td />
                    <td colSpan={6}>
                      {s.status === 'running' ? <StepProgress step={s} /> : <StepResultLink projectId={projectId} step={s} />}
                    </td>
                  </tr>
                )}
                <StepDetailRows error={s.error} log={s.log} expanded={expanded} logId={`log-${s.stepId}`} label={stepLabel(s)} columns={7} />
              </Fragment>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
