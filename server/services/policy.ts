import { and, eq } from 'drizzle-orm';
import { teamMembers, teamRoles, type TeamRole } from '@/db/schema';
import { hasScope } from './api-keys/scopes';
import type { Actor, ServiceCtx } from './context';
import { forbidden, invalid, notFound, unauthenticated } from './errors';
import { teamOfProject } from './projects/project-team';
import { isInstanceAdmin } from './system/instance-admin';

/**
 * Who may call what. Every tRPC procedure and REST route declares a Policy; the edge calls
 * `authorize` (server/api/authorize.ts) before any service runs. The rules that need only teams
 * and keys are here, in core (`authorizeByTeam`); endpointScorer reads the endpoint's owner from
 * the scoring runtime's cache, so its rule lives with it, in the models tier
 * (services/scoring/endpoint-scorer.ts).
 *
 * - public: anyone, signed in or not
 * - signedIn: any signed-in user (API keys are project credentials and are refused)
 * - member: a member of the team that owns the `teamId` or `projectId` in the input, with at least
 *   `role`; an API key of that project passes only if the policy names a `scope` the key holds
 * - endpointScorer: whoever may score with the endpoint named by `endpoint` (tRPC) or `name` (the
 *   REST path): a member (viewer+) of the team owning it, or a key of its project with
 *   `score:<endpoint>`. The REST predict route decides the same with cached keys and endpoints
 *   (`requireApiKeyScope`), without a database round trip.
 * - instanceAdmin: a signed-in instance admin (system/instance-admin.ts); no team role or key counts
 */
export type Policy =
  | { kind: 'public' }
  | { kind: 'signedIn' }
  | { kind: 'member'; role: TeamRole; scope?: string | ((input: Record<string, unknown>) => string) }
  | { kind: 'endpointScorer' }
  | { kind: 'instanceAdmin' };

/** The policies decided from teams and keys alone. */
export type TeamPolicy = Exclude<Policy, { kind: 'endpointScorer' }>;

export type Authorization = { teamId: string | null; projectId: string | null; role: TeamRole | null };

export function roleRank(role: TeamRole): number {
  return teamRoles.indexOf(role);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function idFrom(input: Record<string, unknown>, key: 'teamId' | 'projectId'): string | null {
  const v = input[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || !UUID.test(v)) throw invalid(`${key} must be a UUID`, key);
  return v;
}

/** An API key acts only in its own project, and only with the scope the action needs. */
export function requireApiKeyScope(actor: Extract<Actor, { type: 'apiKey' }>, projectId: string | null, needed: string): void {
  if (!projectId || projectId !== actor.projectId) throw forbidden('this API key belongs to another project');
  if (!hasScope(actor.scopes, needed)) throw forbidden(`this API key lacks the scope "${needed}"`);
}

/** public, signedIn and member: who the actor is, and their role in the team owning the input's project or team. */
export async function authorizeByTeam(ctx: ServiceCtx, policy: TeamPolicy, rawInput: unknown): Promise<Authorization> {
  const none: Authorization = { teamId: null, projectId: null, role: null };
  switch (policy.kind) {
    case 'public':
      return none;
    case 'signedIn':
      if (ctx.actor?.type !== 'user') throw unauthenticated('sign in first');
      return none;
    case 'instanceAdmin':
      if (ctx.actor?.type !== 'user') throw unauthenticated('sign in first');
      if (!(await isInstanceAdmin(ctx.db, ctx.actor.userId))) throw forbidden('this needs an instance admin (an email listed in STAGEBOOK_ADMIN_EMAILS, verified)');
      return none;
    case 'member': {
      if (!ctx.actor) throw unauthenticated();
      const input = rawInput && typeof rawInput === 'object' ? (rawInput as Record<string, unknown>) : {};
      const projectId = idFrom(input, 'projectId');
      let teamId = idFrom(input, 'teamId');
      if (!projectId && !teamId) throw invalid('teamId or projectId is required', 'projectId');
      if (projectId) {
        const owner = await teamOfProject(ctx.db, projectId);
        if (!owner) throw notFound('project');
        if (teamId && teamId !== owner) throw invalid('the project does not belong to that team', 'teamId');
        teamId = owner;
      }
      const actor = ctx.actor;
      switch (actor.type) {
        case 'apiKey': {
          const needed = typeof policy.scope === 'function' ? policy.scope(input) : policy.scope;
          if (!needed) throw forbidden('API keys cannot do this; sign in as a team member');
          requireApiKeyScope(actor, projectId, needed);
          return { teamId, projectId, role: null };
        }
        case 'user': {
          const [m] = await ctx.db
            .select({ role: teamMembers.role })
            .from(teamMembers)
            .where(and(eq(teamMembers.teamId, teamId!), eq(teamMembers.userId, actor.userId)));
          if (!m) throw forbidden('you are not a member of this team');
          if (roleRank(m.role) < roleRank(policy.role)) throw forbidden(`this needs the ${policy.role} role; you are ${m.role}`);
          return { teamId, projectId, role: m.role };
        }
        case 'system':
        case 'workflow':
          return { teamId, projectId, role: 'admin' };
      }
    }
  }
}
