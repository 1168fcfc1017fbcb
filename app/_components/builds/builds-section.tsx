'use client';

import '../datasets/datasets.css';
import './builds.css';
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { formatDateTime, shortId } from '../format';
import { useTRPC } from '../trpc';
import { Card, EmptyState, ErrorMessage, Loading } from '../ui';
import { buildHref, isLive, targetLabel, type BuildSummary } from './build-types';
import { formatSpan } from './run-timeline';
import { BuildStatusBadge } from './status-badge';
import { useBuildList } from './use-builds';

function StepsProgress({ b }: { b: BuildSummary }) {
  const total = Object.values(b.stepCounts).reduce((a, n) => a + n, 0);
  const parts = (['succeeded', 'failed', 'running', 'skipped', 'cancelled', 'pending'] as const).filter((s) => b.stepCounts[s] > 0);
  return (
    <span className="steps-mini" title={parts.map((s) => `${b.stepCounts[s]} ${s}`).join(', ')}>
      <span className="run-progress run-progress-mini" aria-hidden>
        {parts.map((s) => (
          <span key={s} className={`run-progress-part run-progress-${s}`} style={{ flexGrow: b.stepCounts[s] }} />
        ))}
      </span>
      <span className="muted small tabular">
        {b.stepCounts.succeeded}/{total}
      </span>
    </span>
  );
}

/** The project's pipeline builds, newest first; live while one runs. */
export function BuildsSection({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const builds = useBuildList(projectId);
  const notebooks = useQuery(trpc.notebooks.list.queryOptions({ projectId }));
  const notebookName = new Map(notebooks.data?.map((n) => [n.id, n.name]) ?? []);
  return (
    <Card title="Builds" description="Pipeline builds started from notebooks: each step builds, checks and publishes one dataset." id="section-builds">
      {builds.isPending ? (
        <Loading />
      ) : builds.isError ? (
        <ErrorMessage error={builds.error} />
      ) : builds.data.length === 0 ? (
        <EmptyState title="No builds yet.">Open a notebook and press Run all, or run one cell and what depends on it.</EmptyState>
      ) : (
        <div className="table-scroll">
          <table className="table builds-table">
            <thead>
              <tr>
                <th>Status</th>
                <th>Build</th>
                <th>Notebook</th>
                <th>Target</th>
                <th>Steps</th>
                <th>Started by</th>
                <th>Started</th>
                <th className="align-right">Duration</th>
              </tr>
            </thead>
            <tbody>
              {builds.data.map((b) => {
                const started = b.startedAt ?? b.createdAt;
                return (
                  <tr key={b.runId}>
                    <td>
                      <BuildStatusBadge status={b.status} />
                    </td>
                    <td>
                      <Link href={buildHref(projectId, b.runId)} className="strong-link">
                        <code>{shortId(b.runId)}</code>
                      </Link>
                    </td>
                    <td className="truncate">
                      {b.notebookId ? <Link href={`/projects/${projectId}/notebooks/${b.notebookId}`}>{notebookName.get(b.notebookId) ?? shortId(b.notebookId)}</Link> : <span className="muted">deleted</span>}
                    </td>
                    <td className="muted nowrap">{targetLabel(b.target)}</td>
                    <td>
                      <StepsProgress b={b} />
                    </td>
                    <td className="muted truncate">{b.createdBy}</td>
                    <td className="muted nowrap">{formatDateTime(started)}</td>
                    <td className="muted nowrap align-right tabular">
                      {b.finishedAt ? formatSpan(new Date(b.finishedAt).getTime() - new Date(started).getTime()) : isLive(b.status) ? 'running…' : '—'}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}
