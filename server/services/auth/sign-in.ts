import { and, count, eq, gt } from 'drizzle-orm';
import { z } from 'zod';
import { loginAttempts, users } from '@/db/schema';
import { emitAudit } from '../audit/emit';
import type { ServiceCtx, UserId } from '../context';
import { tooManyRequests, unauthenticated } from '../errors';
import { dummyPasswordHash, verifyPassword } from './passwords';
import { createSession } from './session';
import { Email } from './sign-up';

export const SignInInput = z.object({ email: Email, password: z.string({ error: 'password is required' }).min(1, 'password is required').max(200) });
export type SignInInput = z.infer<typeof SignInInput>;

/** Failed attempts allowed in the window before further attempts are refused. */
export const LOGIN_LIMITS = { windowMs: 15 * 60 * 1000, perEmail: 5, perClient: 30 };

/**
 * Rate-limited by failures per email and per client address, counted in the database so every
 * server process enforces the same limit.
 */
export async function signIn({ ctx, input }: { ctx: ServiceCtx; input: SignInInput }) {
  const clientIp = ctx.clientIp ?? 'unknown';
  const since = new Date(Date.now() - LOGIN_LIMITS.windowMs);
  const [byEmail] = await ctx.db
    .select({ n: count() })
    .from(loginAttempts)
    .where(and(eq(loginAttempts.email, input.email), eq(loginAttempts.succeeded, false), gt(loginAttempts.at, since)));
  const [byClient] = await ctx.db
    .select({ n: count() })
    .from(loginAttempts)
    .where(and(eq(loginAttempts.clientIp, clientIp), eq(loginAttempts.succeeded, false), gt(loginAttempts.at, since)));
  if ((byEmail?.n ?? 0) >= LOGIN_LIMITS.perEmail || (byClient?.n ?? 0) >= LOGIN_LIMITS.perClient) {
    throw tooManyRequests('too many failed sign-in attempts; try again in 15 minutes');
  }

  const [user] = await ctx.db.select().from(users).where(eq(users.email, input.email));
  const ok = await verifyPassword(input.password, user?.passwordHash ?? (await dummyPasswordHash()));
  return ctx.db.transaction(async (tx) => {
    await tx.insert(loginAttempts).values({ email: input.email, clientIp, succeeded: Boolean(user && ok) });
    if (!user || !ok) {
      if (user) {
        await emitAudit(
          tx,
          { actor: { type: 'system', name: 'auth' }, requestId: ctx.requestId, clientIp: ctx.clientIp },
          { action: 'user.signin_failed', target: { type: 'user', id: user.id }, details: { email: input.email } },
        );
      }
      return null;
    }
    const actor = { type: 'user', userId: user.id as UserId, email: user.email, name: user.name } as const;
    await emitAudit(tx, { actor, requestId: ctx.requestId, clientIp: ctx.clientIp }, { action: 'user.signin', target: { type: 'user', id: user.id } });
    const session = await createSession(tx, user.id);
    return { user: { id: user.id, email: user.email, name: user.name }, session };
  }).then((r) => {
    // Thrown after the transaction so the failed attempt is recorded (it counts toward the limit).
    if (!r) throw unauthenticated('email or password is wrong');
    return r;
  });
}
