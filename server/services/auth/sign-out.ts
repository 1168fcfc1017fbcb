import { eq } from 'drizzle-orm';
import { sessions } from '@/db/schema';
import { emitAudit } from '../audit/emit';
import type { ServiceCtx } from '../context';
import { unauthenticated } from '../errors';
import { sha256Hex } from './tokens';

export async function signOut({ ctx, input }: { ctx: ServiceCtx; input: { sessionToken: string | undefined } }) {
  const actor = ctx.actor;
  if (actor?.type !== 'user') throw unauthenticated();
  const token = input.sessionToken;
  await ctx.db.transaction(async (tx) => {
    if (token) await tx.delete(sessions).where(eq(sessions.tokenHash, sha256Hex(token)));
    await emitAudit(tx, { actor, requestId: ctx.requestId, clientIp: ctx.clientIp }, { action: 'user.signout', target: { type: 'user', id: actor.userId } });
  });
}
