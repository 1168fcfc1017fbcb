'use client';

import { useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { NotAvailable } from '../team-header';
import { useTRPC } from '../trpc';
import { roleAtLeast, type TeamRole } from '../types';
import { Loading, PageHeader, type Crumb } from '../ui';

/** Sections with a page of their own (a list with search and sort); others are parts of the overview. */
const sectionPages: Record<string, string> = { Builds: 'builds', Datasets: 'datasets', Models: 'models', Production: 'production' };
const sectionPage = (projectId: string, section: string) =>
  sectionPages[section] ? `/projects/${projectId}/${sectionPages[section]}` : `/projects/${projectId}#section-${section.toLowerCase()}`;

export type SubpageContext = { myRole: TeamRole | null; canEdit: boolean };

/**
 * The frame of a page inside a project (a dataset, a run): breadcrumbs team / project / section and
 * the page's own title, with the viewer's role for what they may change.
 */
export function ProjectSubpage({ projectId, section, sectionHref, title, badge, description, actions, children }: {
  projectId: string;
  section: string;
  /** Where the section crumb leads; default: the section's page. */
  sectionHref?: string;
  title: ReactNode;
  badge?: ReactNode;
  description?: ReactNode;
  actions?: (ctx: SubpageContext) => ReactNode;
  children: (ctx: SubpageContext) => ReactNode;
}) {
  const trpc = useTRPC();
  const project = useQuery(trpc.projects.get.queryOptions({ projectId }));
  const teamId = project.data?.teamId;
  const team = useQuery({ ...trpc.teams.get.queryOptions({ teamId: teamId ?? '' }), enabled: Boolean(teamId) });
  if (project.isPending) return <Loading />;
  if (project.isError) return <NotAvailable error={project.error} />;
  if (team.isPending) return <Loading />;
  const myRole = (team.data?.myRole ?? null) as TeamRole | null;
  const ctx = { myRole, canEdit: roleAtLeast(myRole, 'editor') };
  const p = project.data;
  const crumbs: Crumb[] = [
    { label: 'Teams', href: '/teams' },
    { label: p.teamName, href: `/teams/${p.teamId}` },
    { label: p.name, href: `/projects/${projectId}` },
    { label: section, href: sectionHref ?? sectionPage(projectId, section) },
  ];
  return (
    <div className="page">
      <PageHeader crumbs={crumbs} title={title} badge={badge} description={description} actions={actions?.(ctx)} />
      {children(ctx)}
    </div>
  );
}
