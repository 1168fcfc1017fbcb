import type { Db } from '@/db/client';
import type { LiveNotebooks } from './live-notebooks';
import type { WorkflowStarter } from './workflow-starter';

export type UserId = string & { readonly __brand: 'UserId' };
export type TeamId = string & { readonly __brand: 'TeamId' };
export type ProjectId = string & { readonly __brand: 'ProjectId' };
export type ApiKeyId = string & { readonly __brand: 'ApiKeyId' };

/** Who is acting. Audit rows record exactly this. */
export type Actor =
  | { type: 'user'; userId: UserId; email: string; name: string }
  | { type: 'apiKey'; keyId: ApiKeyId; projectId: ProjectId; teamId: TeamId; name: string; scopes: string[] }
  | { type: 'system'; name: string }
  | { type: 'workflow'; workflowId: string };

export type ServiceCtx = {
  db: Db;
  actor: Actor | null;
  requestId: string | null;
  clientIp: string | null;
  /**
   * The `x-request-id` a client sent, when it is a plausible id (1-128 of [A-Za-z0-9._-]): recorded
   * beside the server's own request id in audit details, never in its place.
   */
  clientRequestId?: string | null;
  /** Starts Temporal workflows; absent in roles that cannot reach Temporal. */
  workflows?: WorkflowStarter;
  /** The collaboration server's loaded notebooks; absent where none runs (API role, service tests). */
  liveNotebooks?: LiveNotebooks;
};

export function actorLabel(actor: Actor): { actorType: Actor['type']; actorId: string; actorLabel: string } {
  switch (actor.type) {
    case 'user':
      return { actorType: 'user', actorId: actor.userId, actorLabel: actor.email };
    case 'apiKey':
      return { actorType: 'apiKey', actorId: actor.keyId, actorLabel: `key:${actor.name}` };
    case 'system':
      return { actorType: 'system', actorId: actor.name, actorLabel: `system:${actor.name}` };
    case 'workflow':
      return { actorType: 'workflow', actorId: actor.workflowId, actorLabel: `workflow:${actor.workflowId}` };
  }
}

/** The audit metadata of a request; services that mutate require an actor. */
export function auditMetaOf(ctx: ServiceCtx): { actor: Actor; requestId: string | null; clientIp: string | null; clientRequestId: string | null | undefined } {
  if (!ctx.actor) throw new Error('a mutation was attempted without an actor (authorisation must run first)');
  return { actor: ctx.actor, requestId: ctx.requestId, clientIp: ctx.clientIp, clientRequestId: ctx.clientRequestId };
}

export function requireUser(ctx: ServiceCtx): Extract<Actor, { type: 'user' }> {
  if (ctx.actor?.type !== 'user') throw new Error('this action needs a signed-in user (authorisation must run first)');
  return ctx.actor;
}
