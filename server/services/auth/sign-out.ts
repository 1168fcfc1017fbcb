import { eq } from 'drizzle-orm';
import { sessions } from '@/db/schema';
import { emitAudit } from '../audit/emit';
import type { ServiceCtx } from '../context';
import { unauthenticated } from '../errors';
import { notifyScoringChange, publishScoringChange } from '../scoring/changes';
import { sha256Hex } from './tokens';

export async function signOut({ ctx, input }: { ctx: ServiceCtx; input: { sessionToken: string | undefined } }) {
  const actor = ctx.actor;
  if (actor?.type !== 'user') throw unauthenticated();
  const tokenHash = input.sessionToken ? sha256Hex(input.sessionToken) : null;
  await ctx.db.transaction(async (tx) => {
    if (tokenHash) {
      await tx.delete(sessions).where(eq(sessions.tokenHash, tokenHash));
      // Request contexts cache sessions for a few seconds: every process forgets this one now.
      await notifyScoringChange(tx, { kind: 'session', tokenHash });
    }
    await emitAudit(tx, { actor, requestId: ctx.requestId, clientIp: ctx.clientIp, clientRequestId: ctx.clientRequestId }, { action: 'user.signout', target: { type: 'user', id: actor.userId } });
  });
  if (tokenHash) publishScoringChange(ctx.db, { kind: 'session', tokenHash });
}
