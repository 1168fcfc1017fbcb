'use client';

import { AuditLog } from './audit-log';
import { ProjectFrame } from './project-header';
import { TeamFrame } from './team-header';

export function TeamAuditPage({ teamId }: { teamId: string }) {
  return <TeamFrame teamId={teamId} active={`/teams/${teamId}/audit`}>{() => <AuditLog scope={{ teamId }} />}</TeamFrame>;
}

export function ProjectAuditPage({ projectId }: { projectId: string }) {
  return <ProjectFrame projectId={projectId} active={`/projects/${projectId}/audit`}>{() => <AuditLog scope={{ projectId }} />}</ProjectFrame>;
}
