import type { inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '@/server/api/root';
import type { AuditAction } from '@/server/domain/audit-actions';

export type RouterOutputs = inferRouterOutputs<AppRouter>;
export type TeamRole = RouterOutputs['teams']['list'][number]['role'];
export type Member = RouterOutputs['teams']['members']['members'][number];
export type Invitation = RouterOutputs['teams']['members']['invitations'][number];
export type ApiKey = RouterOutputs['apiKeys']['list'][number];
export type AuditEvent = RouterOutputs['audit']['list']['events'][number];
export type Run = RouterOutputs['runs']['list'][number];
export type RunStatus = Run['status'];
export type { AuditAction };

/** Ordered from least to most privileged; mirrors the server's roles (checked by the type below). */
export const TEAM_ROLES = ['viewer', 'editor', 'deployer', 'admin'] as const satisfies readonly TeamRole[];
// Fails to compile when the server gains a role this list does not name.
const everyRoleListed: Exclude<TeamRole, (typeof TEAM_ROLES)[number]> extends never ? true : false = true;
void everyRoleListed;

export function roleAtLeast(role: TeamRole | string | null | undefined, needed: TeamRole): boolean {
  if (!role) return false;
  return TEAM_ROLES.indexOf(role as TeamRole) >= TEAM_ROLES.indexOf(needed);
}
