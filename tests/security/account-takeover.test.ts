import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '@/server/app';
import { sha256Hex } from '@/server/services/auth/tokens';
import { callerFor, newUser } from '../helpers/api';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { readableMail, startSmtpReceiver, type SmtpReceiver } from '../helpers/notifications';

/**
 * Invitation takeover (someone signs up with an invited address they do not own) and password
 * reset, against the real app and a real SMTP server that keeps the mail.
 */
describe('accounts: invitations wait for a verified email; password reset by emailed single-use token', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let smtp: SmtpReceiver;
  let teamId: string;
  let admin: Awaited<ReturnType<typeof newUser>>;
  const savedEnv = { SMTP_URL: process.env.SMTP_URL, STAGEBOOK_PUBLIC_URL: process.env.STAGEBOOK_PUBLIC_URL };

  beforeAll(async () => {
    smtp = await startSmtpReceiver();
    process.env.SMTP_URL = smtp.url;
    process.env.STAGEBOOK_PUBLIC_URL = 'https://stagebook.example.com';
    t = await openTestDatabase('postgres');
    app = await buildApp({ db: t.db, driver: t.driver, role: 'web' });
    admin = await newUser(t.db, 'team-admin');
    teamId = (await callerFor(t.db, admin).teams.create({ name: 'Invited' })).id;
  }, 60_000);
  afterAll(async () => {
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await app?.close();
    await smtp?.close();
    await t?.dispose();
  });

  let ip = 0;
  const call = (path: string, json: unknown, cookie?: string) =>
    app.inject({ method: 'POST', url: `/trpc/${path}`, remoteAddress: `10.90.0.${++ip % 250}`, headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) }, payload: JSON.stringify({ json }) });
  const sessionOf = (res: LightMyRequestResponse) => res.cookies.find((c) => c.name === 'sb_session' && c.value !== '')?.value;
  const isMember = async (email: string) =>
    (await t.query(`select 1 from team_members m join users u on u.id = m.user_id where m.team_id = $1 and u.email = $2`, [teamId, email])).length === 1;
  /** Waits for the mail to `to` whose link goes to `path`, and returns the link's token. */
  const tokenMailed = async (to: string, path: string, after = 0): Promise<string> => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const mail = smtp.mails.slice(after).find((m) => m.to.includes(to) && readableMail(m.raw).includes(path));
      if (mail) {
        const text = readableMail(mail.raw);
        // The link carries the token in the fragment (never sent to a server), not in the query.
        expect(text).toContain(`https://stagebook.example.com${path}#token=`);
        return /#token=([A-Za-z0-9_-]+)/.exec(text)![1]!;
      }
      if (Date.now() > deadline) throw new Error(`no mail to ${to} with ${path}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it('signing up with an invited address does not join the team; the emailed link does', async () => {
    const email = 'grace@example.com';
    await callerFor(t.db, admin).teams.invite({ teamId, email, role: 'editor' });
    const mailsBefore = smtp.mails.length;
    const res = await call('auth.signUp', { email, name: 'Someone', password: 'not graces password' });
    expect(res.statusCode).toBe(200);
    expect(await isMember(email)).toBe(false);

    const token = await tokenMailed(email, '/verify-email', mailsBefore);
    expect((await call('auth.verifyEmail', { token })).statusCode).toBe(200);
    expect(await isMember(email)).toBe(true);
    const [event] = await t.query(`select details from audit_events where action = 'user.email_verify' order by seq desc limit 1`);
    expect(event).toMatchObject({ details: { email } });
    // Single use.
    const again = await call('auth.verifyEmail', { token });
    expect(again.statusCode).toBe(400);
    expect(again.body).toMatch(/invalid, already used or expired/);
    // Tokens are stored hashed and appear in no audit event.
    expect((await t.query(`select count(*)::int as n from account_tokens where token_hash = $1`, [token]))[0]).toEqual({ n: 0 });
    expect((await t.query(`select count(*)::int as n from account_tokens where token_hash = $1`, [sha256Hex(token)]))[0]).toEqual({ n: 1 });
    expect((await t.query(`select count(*)::int as n from audit_events where details::text like $1`, [`%${token}%`]))[0]).toEqual({ n: 0 });
  });

  it('inviting an account whose email is unverified leaves an invitation, not a membership', async () => {
    const email = 'mallory-claimed@example.com';
    expect((await call('auth.signUp', { email, name: 'Mallory', password: 'mallory password' })).statusCode).toBe(200);
    expect(await callerFor(t.db, admin).teams.invite({ teamId, email, role: 'admin' })).toMatchObject({ status: 'invited' });
    expect(await isMember(email)).toBe(false);
  });

  it('a wrong, expired or reset-purpose token does not verify an email', async () => {
    expect((await call('auth.verifyEmail', { token: 'x'.repeat(43) })).statusCode).toBe(400);
    const email = 'late@example.com';
    await callerFor(t.db, admin).teams.invite({ teamId, email, role: 'viewer' });
    const before = smtp.mails.length;
    await call('auth.signUp', { email, name: 'Late', password: 'late late late' });
    const token = await tokenMailed(email, '/verify-email', before);
    await t.query(`update account_tokens set expires_at = now() - interval '1 second' where token_hash = $1`, [sha256Hex(token)]);
    expect((await call('auth.verifyEmail', { token })).statusCode).toBe(400);
    expect(await isMember(email)).toBe(false);
    expect((await call('auth.resetPassword', { token, password: 'a new password' })).statusCode).toBe(400);
  });

  it('resets a password by emailed token: single use, expires, audited, and ends every session', async () => {
    const email = 'forgetful@example.com';
    expect((await call('auth.signUp', { email, name: 'Forgetful', password: 'old password 1' })).statusCode).toBe(200);
    const oldSession = sessionOf(await call('auth.signIn', { email, password: 'old password 1' }))!;
    const otherSession = sessionOf(await call('auth.signIn', { email, password: 'old password 1' }))!;
    const me = async (session: string) => (await app.inject({ method: 'GET', url: '/trpc/auth.me', headers: { cookie: `sb_session=${session}` } })).json() as { result: { data: { json: unknown } } };
    expect((await me(oldSession)).result.data.json).toMatchObject({ email });

    const before = smtp.mails.length;
    const asked = await call('auth.requestPasswordReset', { email });
    expect(asked.statusCode).toBe(200);
    const token = await tokenMailed(email, '/reset-password', before);

    const reset = await call('auth.resetPassword', { token, password: 'new password 2' });
    expect(reset.statusCode).toBe(200);
    // Every session of the user has ended, in this process at once.
    expect((await me(oldSession)).result.data.json).toBeNull();
    expect((await me(otherSession)).result.data.json).toBeNull();
    expect((await t.query(`select count(*)::int as n from sessions s join users u on u.id = s.user_id where u.email = $1`, [email]))[0]).toEqual({ n: 0 });
    expect((await call('auth.signIn', { email, password: 'old password 1' })).statusCode).toBe(401);
    expect((await call('auth.signIn', { email, password: 'new password 2' })).statusCode).toBe(200);
    // Single use.
    expect((await call('auth.resetPassword', { token, password: 'third password 3' })).statusCode).toBe(400);
    const actions = (await t.query(`select action from audit_events where target_id = (select id::text from users where email = $1) order by seq`, [email])).map((r) => r.action);
    expect(actions).toEqual(expect.arrayContaining(['user.password_reset_request', 'user.password_reset']));
    expect((await t.query(`select count(*)::int as n from audit_events where details::text like $1`, [`%${token}%`]))[0]).toEqual({ n: 0 });

    // An expired reset token is refused.
    const before2 = smtp.mails.length;
    await call('auth.requestPasswordReset', { email });
    const token2 = await tokenMailed(email, '/reset-password', before2);
    await t.query(`update account_tokens set expires_at = now() - interval '1 second' where token_hash = $1`, [sha256Hex(token2)]);
    expect((await call('auth.resetPassword', { token: token2, password: 'third password 3' })).statusCode).toBe(400);
  });

  it('a reset request answers the same for an unknown email, and mails nobody', async () => {
    const before = smtp.mails.length;
    const known = await call('auth.requestPasswordReset', { email: 'forgetful@example.com' });
    const unknown = await call('auth.requestPasswordReset', { email: 'nobody-here@example.com' });
    expect(unknown.statusCode).toBe(known.statusCode);
    expect(unknown.body).toBe(known.body);
    await tokenMailed('forgetful@example.com', '/reset-password', before);
    expect(smtp.mails.slice(before).some((m) => m.to.includes('nobody-here@example.com'))).toBe(false);
  });

  it('a signed-in user can ask for the link again; an admin cannot approve an invitation nobody signed up for', async () => {
    const email = 'resend@example.com';
    await callerFor(t.db, admin).teams.invite({ teamId, email, role: 'viewer' });
    expect((await call('auth.signUp', { email, name: 'Resend', password: 'resend resend' })).statusCode).toBe(200);
    const session = sessionOf(await call('auth.signIn', { email, password: 'resend resend' }))!;
    const before = smtp.mails.length;
    const resent = await call('auth.sendVerification', undefined, `sb_session=${session}`);
    expect(resent.statusCode).toBe(200);
    const token = await tokenMailed(email, '/verify-email', before);
    expect((await call('auth.verifyEmail', { token })).statusCode).toBe(200);
    expect(await isMember(email)).toBe(true);
    expect((await call('auth.sendVerification', undefined, `sb_session=${session}`)).json()).toMatchObject({ result: { data: { json: { sent: false, verified: true } } } });

    const invited = await callerFor(t.db, admin).teams.invite({ teamId, email: 'no-account@example.com', role: 'viewer' });
    if (invited.status !== 'invited') throw new Error('expected a pending invitation');
    await expect(callerFor(t.db, admin).teams.approveInvitation({ teamId, invitationId: invited.invitationId })).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
  });

  it('refuses the account-token procedures inside a batch', async () => {
    for (const path of ['auth.verifyEmail', 'auth.resetPassword', 'auth.requestPasswordReset']) {
      const res = await app.inject({ method: 'POST', url: `/trpc/${path}?batch=1`, headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ 0: { json: { token: 'x'.repeat(43), email: 'a@example.com', password: 'long enough pw' } } }) });
      expect(res.statusCode).toBe(400);
      expect(res.body).toContain(`${path} cannot be batched`);
    }
  });
});
