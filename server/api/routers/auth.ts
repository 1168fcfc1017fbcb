import { SESSION_COOKIE } from '../../services/auth/tokens';
import { signIn, SignInInput } from '../../services/auth/sign-in';
import { signOut } from '../../services/auth/sign-out';
import { requestSignUp } from '../../services/auth/request-sign-up';
import { SignUpInput, takeSignUpAttempt } from '../../services/auth/sign-up';
import { requestPasswordReset, RequestPasswordResetInput, resetPassword, ResetPasswordInput } from '../../services/auth/reset-password';
import { sendVerification, verifyEmail, VerifyEmailInput } from '../../services/auth/verify-email';
import { policies, procedure, router } from '../trpc';
import { isInstanceAdmin } from '../../services/system/instance-admin';

export const authRouter = router({
  me: procedure.meta({ policy: policies.public }).query(async ({ ctx }) =>
    ctx.actor?.type === 'user' ? { id: ctx.actor.userId, email: ctx.actor.email, name: ctx.actor.name, instanceAdmin: await isInstanceAdmin(ctx.db, ctx.actor.userId) } : null,
  ),
  signUp: procedure
    .meta({ policy: policies.public, unbatched: true })
    .input(SignUpInput)
    // The same answer for a new and a taken email, and no session either way (request-sign-up.ts).
    .mutation(async ({ ctx, input }) => {
      await takeSignUpAttempt(ctx, input.email);
      return requestSignUp({ ctx, input });
    }),
  signIn: procedure
    .meta({ policy: policies.public, unbatched: true })
    .input(SignInInput)
    .mutation(async ({ ctx, input }) => {
      const { user, session } = await signIn({ ctx, input });
      ctx.cookies.set(SESSION_COOKIE, session.token, session.expiresAt);
      return user;
    }),
  // Tokens arrive in the body, never in a URL (access logs, Referer headers).
  verifyEmail: procedure
    .meta({ policy: policies.public, unbatched: true })
    .input(VerifyEmailInput)
    .mutation(({ ctx, input }) => verifyEmail({ ctx, input })),
  sendVerification: procedure.meta({ policy: policies.signedIn }).mutation(({ ctx }) => sendVerification({ ctx })),
  requestPasswordReset: procedure
    .meta({ policy: policies.public, unbatched: true })
    .input(RequestPasswordResetInput)
    .mutation(({ ctx, input }) => requestPasswordReset({ ctx, input })),
  resetPassword: procedure
    .meta({ policy: policies.public, unbatched: true })
    .input(ResetPasswordInput)
    .mutation(async ({ ctx, input }) => {
      const result = await resetPassword({ ctx, input });
      ctx.cookies.clear(SESSION_COOKIE);
      return result;
    }),
  signOut: procedure.meta({ policy: policies.signedIn }).mutation(async ({ ctx }) => {
    await signOut({ ctx, input: { sessionToken: ctx.sessionToken } });
    ctx.cookies.clear(SESSION_COOKIE);
    return { signedOut: true };
  }),
});
