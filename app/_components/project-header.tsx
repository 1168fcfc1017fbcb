'use client';

import { useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { NotAvailable } from './team-header';
import { useTRPC } from './trpc';
import type { RouterOutputs, TeamRole } from './types';
import { Loading, PageHeader, RoleBadge, Tabs } from './ui';

type Project = RouterOutputs['projects']['get'];

function projectTabs(projectId: string) {
  return [
    { href: `/projects/${projectId}`, label: 'Overview' },
    { href: `/projects/${projectId}/datasets`, label: 'Datasets' },
    { href: `/projects/${projectId}/builds`, label: 'Builds' },
    { href: `/projects/${projectId}/models`, label: 'Models' },
    { href: `/projects/${projectId}/production`, label: 'Production' },
    { href: `/projects/${projectId}/notifications`, label: 'Notifications' },
    { href: `/projects/${projectId}/python`, label: 'Python' },
    { href: `/projects/${projectId}/api-keys`, label: 'API keys' },
    { href: `/projects/${projectId}/audit`, label: 'Audit log' },
  ];
}

/** Header, breadcrumb (team / project) and tabs of every project page, with the viewer's team role. */
export function ProjectFrame({ projectId, active, children }: {
  projectId: string;
  active: string;
  children: (project: Project, myRole: TeamRole | null) => ReactNode;
}) {
  const trpc = useTRPC();
  const project = useQuery(trpc.projects.get.queryOptions({ projectId }));
  const teamId = project.data?.teamId;
  const team = useQuery({ ...trpc.teams.get.queryOptions({ teamId: teamId ?? '' }), enabled: Boolean(teamId) });
  if (project.isPending) return <Loading />;
  if (project.isError) return <NotAvailable error={project.error} />;
  const myRole = (team.data?.myRole ?? null) as TeamRole | null;
  const p = project.data;
  return (
    <div className="page">
      <PageHeader
        crumbs={[
          { label: 'Teams', href: '/teams' },
          { label: p.teamName, href: `/teams/${p.teamId}` },
        ]}
        title={p.name}
        badge={myRole && <RoleBadge role={myRole} />}
        description={p.description || undefined}
      />
      <Tabs items={projectTabs(projectId)} active={active} />
      {team.isPending ? <Loading /> : children(p, myRole)}
    </div>
  );
}
