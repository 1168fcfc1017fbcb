import { assertNever } from '@/server/domain/assert-never';
import type { ServiceCtx } from '../services/context';
import { authorizeByTeam, type Authorization, type Policy } from '../services/policy';
import { authorizeEndpointScorer } from '../services/scoring/endpoint-scorer';

/**
 * The one place that decides who may call what: every tRPC procedure and REST route declares a
 * Policy (services/policy.ts) and the edge calls this before any service runs. It dispatches to
 * each rule's tier: teams and keys in core, endpointScorer beside the scoring runtime's cache.
 */
export async function authorize(ctx: ServiceCtx, policy: Policy, rawInput: unknown): Promise<Authorization> {
  switch (policy.kind) {
    case 'endpointScorer':
      return authorizeEndpointScorer(ctx, rawInput);
    case 'public':
    case 'signedIn':
    case 'member':
    case 'instanceAdmin':
      return authorizeByTeam(ctx, policy, rawInput);
    default:
      return assertNever(policy, 'policy kind');
  }
}
