'use client';

import '../datasets/datasets.css';
import './builds.css';
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { formatDateTime, shortId } from '../format';
import { applyListView, byNumberDesc, byText, byTimeDesc, type ListView, type SortOption } from '../list-view';
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

const durationOf = (b: BuildSummary) => (b.finishedAt ? new Date(b.finishedAt).getTime() - new Date(b.startedAt ?? b.createdAt).getTime() : null);

export const buildSorts: SortOption<BuildSummary>[] = [
  { value: 'newest', label: 'Newest first', compare: byTimeDesc((b) => b.createdAt) },
  { value: 'status', label: 'Status', compare: byText((b) => b.status) },
  { value: 'longest', label: 'Longest first', compare: byNumberDesc(durationOf) },
  { value: 'by', label: 'Started by', compare: byText((b) => b.createdBy) },
];

export const buildsHref = (projectId: string) => `/projects/${projectId}/builds`;

/**
 * The project's pipeline builds, newest first; live while one runs. The overview shows the latest
 * few with a link to the Builds page, which passes a search and sort (`view`) and a longer list.
 */
export function BuildsSection({ projectId, view, limit = 20, showAll }: { projectId: string; view?: ListView; limit?: number; showAll?: boolean }) {
  const trpc = useTRPC();
  const builds = useBuildList(projectId, undefined, limit);
  const notebooks = useQuery(trpc.notebooks.list.queryOptions({ projectId }));
  const notebookName = new Map(notebooks.data?.map((n) => [n.id, n.name]) ?? []);
  const rows = builds.data
    ? applyListView(builds.data, view, { text: (b) => [b.runId, b.status, b.createdBy, targetLabel(b.target), b.notebookId ? (notebookName.get(b.notebookId) ?? '') : ''].join(' '), sorts: buildSorts })
    : [];
  return (
    <Card
      title="Builds"
      description="Pipeline builds started from notebooks: each step builds, checks and publishes one dataset."
      id="section-builds"
      actions={
        showAll && (
          <Link href={buildsHref(projectId)} className="btn btn-sm">
            All builds
          </Link>
        )
      }
    >
      {builds.isPending ? (
        <Loading />
      ) : builds.isError ? (
        <ErrorMessage error={builds.error} />
      ) : builds.data.length === 0 ? (
        <EmptyState title="No builds yet.">Open a notebook and press Run all, or run one cell and what depends on it.</EmptyState>
      ) : rows.length === 0 ? (
        <EmptyState title="No build matches the search." />
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
              {rows.map((b) => {
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
                      {b.notebookId ? (
                        <Link href={`/projects/${projectId}/notebooks/${b.notebookId}`}>{notebookName.get(b.notebookId) ?? shortId(b.notebookId)}</Link>
                      ) : b.environment === 'production' ? (
                        <span className="badge badge-env-production">production</span>
                      ) : (
                        <span className="muted">deleted</span>
                      )}
                    </td>
                    <td className="muted nowrap">{targetLabel(b.target)}</td>
                    <td>
                      <StepsProgress b={b} />
                    </td>
                    <td className="muted truncate" title={b.createdBy}>
                      {b.startedByName ?? b.createdBy}
                    </td>
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
