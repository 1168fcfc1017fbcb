import type { Actor, ServiceCtx } from '../context';
import { notFound, unauthenticated } from '../errors';
import { authorizeByTeam, requireApiKeyScope, type Authorization } from '../policy';
import { scoringRuntime, type EndpointConfig } from './runtime';

const ENDPOINT_NAME = /^[a-z][a-z0-9_-]{0,62}$/;

/**
 * The policy's endpointScorer rule (services/policy.ts): whoever may score with the endpoint named
 * by `endpoint` (tRPC) or `name` (the REST path): a member (viewer+) of the team owning it, or a key
 * of its project with `score:<endpoint>`. Whose endpoint it is comes from the scoring runtime's
 * cached config (invalidated on change), which is why the rule lives here and not in core.
 */
export async function authorizeEndpointScorer(ctx: ServiceCtx, rawInput: unknown): Promise<Authorization> {
  if (!ctx.actor) throw unauthenticated();
  const input = rawInput && typeof rawInput === 'object' ? (rawInput as Record<string, unknown>) : {};
  const name = input.endpoint ?? input.name;
  if (typeof name !== 'string' || !ENDPOINT_NAME.test(name)) throw notFound(`endpoint "${String(name ?? '')}"`);
  if (ctx.actor.type === 'apiKey') {
    const endpoint = await keyScorableEndpoint(ctx.db, ctx.actor, name);
    return { teamId: endpoint.teamId, projectId: endpoint.projectId, role: null };
  }
  const endpoint = await scoringRuntime(ctx.db).endpoint(name);
  return authorizeByTeam(ctx, { kind: 'member', role: 'viewer' }, { projectId: endpoint.projectId });
}

/**
 * endpointScorer for an API key, by itself: the endpoint's config (the scoring runtime's cache,
 * invalidated on change: no database round trip once loaded) when the key may score with it.
 * NotFound for a name that is not an endpoint's, Forbidden for a key of another project or without
 * `score:<name>`. `authorizeEndpointScorer` decides keys with it, and so do the predict routes' cached paths.
 */
export async function keyScorableEndpoint(db: ServiceCtx['db'], actor: Extract<Actor, { type: 'apiKey' }>, name: string): Promise<EndpointConfig> {
  if (!ENDPOINT_NAME.test(name)) throw notFound(`endpoint "${name}"`);
  const endpoint = await scoringRuntime(db).endpoint(name);
  requireApiKeyScope(actor, endpoint.projectId, `score:${name}`);
  return endpoint;
}

/**
 * `keyScorableEndpoint` without a promise when the endpoint is loaded already (the hot path's
 * common case): the same checks in the same order, the same errors thrown; undefined when only a
 * load would tell (then call `keyScorableEndpoint`).
 */
export function knownKeyScorableEndpoint(db: ServiceCtx['db'], actor: Extract<Actor, { type: 'apiKey' }>, name: string): EndpointConfig | undefined {
  if (!ENDPOINT_NAME.test(name)) throw notFound(`endpoint "${name}"`);
  const endpoint = scoringRuntime(db).knownEndpoint(name);
  if (endpoint) requireApiKeyScope(actor, endpoint.projectId, `score:${name}`);
  return endpoint;
}
