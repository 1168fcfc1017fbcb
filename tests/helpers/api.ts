import { TRPCError } from '@trpc/server';
import { eq } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { users } from '@/db/schema';
import { createCaller } from '@/server/api/root';
import type { RequestCtx } from '@/server/api/context';
import { signUp } from '@/server/services/auth/sign-up';
import type { Actor, UserId } from '@/server/services/context';
import type { WorkflowStarter } from '@/server/services/workflow-starter';

let counter = 0;

export function ctxFor(db: Db, actor: Actor | null, extra: Partial<RequestCtx> = {}): RequestCtx {
  const jar = new Map<string, string>();
  return {
    db,
    actor,
    requestId: `test-${++counter}`,
    clientIp: '10.0.0.1',
    sessionToken: undefined,
    cookies: { get: (n) => jar.get(n), set: (n, v) => void jar.set(n, v), clear: (n) => void jar.delete(n) },
    ...extra,
  };
}

export function callerFor(db: Db, actor: Actor | null, extra: Partial<RequestCtx & { workflows: WorkflowStarter }> = {}) {
  return createCaller(ctxFor(db, actor, extra));
}

/**
 * Creates an account through the real sign-up service and returns it as an actor. Its email counts
 * as verified (as after the emailed link), so invitations to it join at once; tests of verification
 * itself sign up without this helper.
 */
export async function newUser(db: Db, name: string): Promise<Extract<Actor, { type: 'user' }>> {
  const email = `${name}-${Date.now()}-${++counter}@example.com`;
  const { user } = await signUp({ ctx: ctxFor(db, null), input: { email, name, password: 'correct horse battery' } });
  await db.update(users).set({ emailVerifiedAt: new Date() }).where(eq(users.id, user.id));
  return { type: 'user', userId: user.id as UserId, email: user.email, name: user.name };
}

export async function trpcCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (err) {
    if (err instanceof TRPCError) return err.code;
    throw err;
  }
}
