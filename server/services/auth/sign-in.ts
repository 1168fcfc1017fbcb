import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { loginAttempts, users } from '@/db/schema';
import { emitAudit } from '../audit/emit';
import type { ServiceCtx, UserId } from '../context';
import { unauthenticated } from '../errors';
import { ATTEMPT_WINDOW_MS, refundAttempt, takeAttempt, type AttemptLimit } from './attempt-limits';
import { dummyPasswordHash, verifyPassword } from './passwords';
import { createSession } from './session';
import { Email } from './sign-up';

export const SignInInput = z.object({ email: Email, password: z.string({ error: 'password is required' }).min(1, 'password is required').max(200) });
export type SignInInput = z.infer<typeof SignInInput>;

/** Failed (or in-flight) attempts allowed in the window before further attempts are refused. */
export const LOGIN_LIMITS = { windowMs: ATTEMPT_WINDOW_MS, perEmail: 5, perClient: 30 };

/** The attempt counters a sign-in counts against: email first, then client address (lock order). */
export function signInLimitKeys(email: string, clientIp: string): AttemptLimit[] {
  return [
    { key: `signin:email:${email}`, max: LOGIN_LIMITS.perEmail },
    { key: `signin:client:${clientIp}`, max: LOGIN_LIMITS.perClient },
  ];
}

/**
 * Rate-limited per email and per client address. The attempt is counted atomically in the database
 * before the password is checked (so every server process, and every concurrent request, shares the
 * same budget) and given back only when the password was right.
 */
export async function signIn({ ctx, input }: { ctx: ServiceCtx; input: SignInInput }) {
  const clientIp = ctx.clientIp ?? 'unknown';
  const limits = signInLimitKeys(input.email, clientIp);
  await takeAttempt(ctx.db, limits, 'too many failed sign-in attempts; try again in 15 minutes');

  const [user] = await ctx.db.select().from(users).where(eq(users.email, input.email));
  const ok = await verifyPassword(input.password, user?.passwordHash ?? (await dummyPasswordHash()));
  return ctx.db.transaction(async (tx) => {
    await tx.insert(loginAttempts).values({ email: input.email, clientIp, succeeded: Boolean(user && ok) });
    if (!user || !ok) {
      if (user) {
        await emitAudit(
          tx,
          { actor: { type: 'system', name: 'auth' }, requestId: ctx.requestId, clientIp: ctx.clientIp, clientRequestId: ctx.clientRequestId },
          { action: 'user.signin_failed', target: { type: 'user', id: user.id }, details: { email: input.email } },
        );
      }
      return null;
    }
    const actor = { type: 'user', userId: user.id as UserId, email: user.email, name: user.name } as const;
    await emitAudit(tx, { actor, requestId: ctx.requestId, clientIp: ctx.clientIp, clientRequestId: ctx.clientRequestId }, { action: 'user.signin', target: { type: 'user', id: user.id } });
    const session = await createSession(tx, user.id);
    await refundAttempt(tx, limits.map((l) => l.key));
    return { user: { id: user.id, email: user.email, name: user.name }, session };
  }).then((r) => {
    // Thrown after the transaction so the failed attempt and its audit event are recorded.
    if (!r) throw unauthenticated('email or password is wrong');
    return r;
  });
}
