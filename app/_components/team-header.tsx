'use client';

import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import type { ReactNode } from 'react';
import { isNotFound } from './query-state';
import { useTRPC } from './trpc';
import type { RouterOutputs } from './types';
import { ErrorMessage, Loading, PageHeader, RoleBadge, Tabs } from './ui';

type Team = RouterOutputs['teams']['get'];

export function teamTabs(teamId: string) {
  return [
    { href: `/teams/${teamId}`, label: 'Projects' },
    { href: `/teams/${teamId}/members`, label: 'Members' },
    { href: `/teams/${teamId}/audit`, label: 'Audit log' },
  ];
}

/** Header, breadcrumb and section tabs of every team page; renders the page once the team is loaded. */
export function TeamFrame({ teamId, active, children }: { teamId: string; active: string; children: (team: Team) => ReactNode }) {
  const trpc = useTRPC();
  const team = useQuery(trpc.teams.get.queryOptions({ teamId }));
  if (team.isPending) return <Loading />;
  if (team.isError) return <NotAvailable error={team.error} />;
  return (
    <div className="page">
      <PageHeader
        crumbs={[{ label: 'Teams', href: '/teams' }]}
        title={team.data.name}
        badge={team.data.myRole && <RoleBadge role={team.data.myRole} />}
      />
      <Tabs items={teamTabs(teamId)} active={active} />
      {children(team.data)}
    </div>
  );
}

export function NotAvailable({ error }: { error: { message: string; data?: unknown } }) {
  return (
    <div className="page">
      <PageHeader crumbs={[{ label: 'Teams', href: '/teams' }]} title={isNotFound(error) ? 'Not found' : 'Not available'} />
      <ErrorMessage error={error} />
      <p>
        <Link href="/teams">Back to your teams</Link>
      </p>
    </div>
  );
}
