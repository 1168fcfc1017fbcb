'use client';

import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { formatDateTime } from './format';
import { useTRPC } from './trpc';
import { Card, EmptyState, ErrorMessage, Loading } from './ui';

/** The landing page's way back in: recent projects and notebooks across the user's teams. */
export function RecentWork() {
  const trpc = useTRPC();
  const recent = useQuery(trpc.search.recent.queryOptions());
  if (recent.isPending) return <Loading />;
  if (recent.isError) return <ErrorMessage error={recent.error} />;
  const { projects, notebooks } = recent.data;
  if (projects.length === 0 && notebooks.length === 0) return null;
  return (
    <div className="grid-2">
      <Card title="Recent projects" id="recent-projects">
        {projects.length === 0 ? (
          <EmptyState title="No projects yet." />
        ) : (
          <table className="table" aria-label="Recent projects">
            <tbody>
              {projects.map((p) => (
                <tr key={p.id}>
                  <td>
                    <Link href={`/projects/${p.id}`} className="strong-link">
                      {p.name}
                    </Link>
                    <div className="muted small">{p.teamName}</div>
                  </td>
                  <td className="muted nowrap align-right">{formatDateTime(p.lastActivityAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
      <Card title="Recent notebooks" id="recent-notebooks">
        {notebooks.length === 0 ? (
          <EmptyState title="No notebooks yet." />
        ) : (
          <table className="table" aria-label="Recent notebooks">
            <tbody>
              {notebooks.map((n) => (
                <tr key={n.id}>
                  <td>
                    <Link href={`/projects/${n.projectId}/notebooks/${n.id}`} className="strong-link">
                      {n.name}
                    </Link>
                    <div className="muted small">
                      {n.teamName} / {n.projectName}
                    </div>
                  </td>
                  <td className="muted nowrap align-right">{formatDateTime(n.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </div>
  );
}
