import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { users } from '@/db/schema';
import { emitAudit } from '../audit/emit';
import type { ServiceCtx, UserId } from '../context';
import { conflict } from '../errors';
import { accountMailEnabled, sendAccountMail } from './account-mail';
import { issueAccountToken } from './account-tokens';
import { takeAttempt } from './attempt-limits';
import { hashPassword } from './passwords';
import { createSession } from './session';

export const Email = z
  .email({ error: 'email must be a valid email address' })
  .max(254)
  .transform((e) => e.trim().toLowerCase());
export const Password = z
  .string({ error: 'password is required' })
  .min(10, 'password must be at least 10 characters')
  .max(200, 'password must be at most 200 characters');

export const SignUpInput = z.object({
  email: Email,
  name: z.string().trim().min(1, 'name is required').max(100),
  password: Password,
});
export type SignUpInput = z.infer<typeof SignUpInput>;

/** Sign-ups allowed per client address (and per email) in the attempt window: each hashes a password. */
export const SIGNUP_LIMITS = { perEmail: 5, perClient: 20 };

/**
 * Counts a sign-up attempt from the public edge before any password is hashed. Kept out of
 * `signUp` itself, which the first-admin bootstrap, the demo seed and tests call directly.
 */
export async function takeSignUpAttempt(ctx: ServiceCtx, email: string): Promise<void> {
  await takeAttempt(
    ctx.db,
    [
      { key: `signup:email:${email}`, max: SIGNUP_LIMITS.perEmail },
      { key: `signup:client:${ctx.clientIp ?? 'unknown'}`, max: SIGNUP_LIMITS.perClient },
    ],
    'too many sign-up attempts; try again in 15 minutes',
  );
}

/**
 * Creates the account (email unverified: a link is emailed when SMTP is set up) and signs in, or
 * refuses a taken email. For trusted callers (the demo seed, benches, tests): the public edge calls
 * `requestSignUp` (request-sign-up.ts), which answers the same for a taken email.
 */
export async function signUp({ ctx, input }: { ctx: ServiceCtx; input: SignUpInput }) {
  const passwordHash = await hashPassword(input.password);
  return ctx.db.transaction(async (tx) => {
    const [existing] = await tx.select({ id: users.id }).from(users).where(eq(users.email, input.email));
    if (existing) throw conflict('an account with this email already exists', 'email');
    const [user] = await tx.insert(users).values({ email: input.email, name: input.name, passwordHash }).returning();
    if (!user) throw new Error('user insert returned no row');
    const actor = { type: 'user', userId: user.id as UserId, email: user.email, name: user.name } as const;
    const meta = { actor, requestId: ctx.requestId, clientIp: ctx.clientIp, clientRequestId: ctx.clientRequestId };
    await emitAudit(tx, meta, { action: 'user.signup', target: { type: 'user', id: user.id }, details: { email: user.email } });

    // Invitations for this email wait until the email is verified (verify-email.ts) or an admin
    // approves them: anyone can sign up with an address they do not own.
    const verifyToken = accountMailEnabled() ? await issueAccountToken(tx, user.id, 'verify_email') : null;
    const session = await createSession(tx, user.id);
    return { user: { id: user.id, email: user.email, name: user.name }, session, verifyToken };
  }).then(({ verifyToken, ...r }) => {
    if (verifyToken) void sendAccountMail(r.user.email, { kind: 'verify_email', token: verifyToken });
    return r;
  });
}
