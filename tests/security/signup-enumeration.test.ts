import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '@/server/app';
import { hashPassword } from '@/server/services/auth/passwords';
import { newUser } from '../helpers/api';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { readableMail, startSmtpReceiver, type SmtpReceiver } from '../helpers/notifications';

/**
 * Account enumeration through sign-up: before, a taken email answered 409 "already exists". Now a
 * taken email gets the answer a new one gets (status, body, headers, no session either way), the
 * same work (a password hash, one audit event), and its owner is told by email instead.
 */
describe('sign-up does not tell whether an email has an account', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let smtp: SmtpReceiver;
  let owner: Awaited<ReturnType<typeof newUser>>;
  const savedEnv = { SMTP_URL: process.env.SMTP_URL, STAGEBOOK_PUBLIC_URL: process.env.STAGEBOOK_PUBLIC_URL };

  beforeAll(async () => {
    smtp = await startSmtpReceiver();
    process.env.SMTP_URL = smtp.url;
    process.env.STAGEBOOK_PUBLIC_URL = 'https://stagebook.example.com';
    t = await openTestDatabase('postgres');
    app = await buildApp({ db: t.db, driver: t.driver, role: 'web' });
    owner = await newUser(t.db, 'owner');
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
  const signUp = (email: string, password = 'a fine long password') =>
    app.inject({ method: 'POST', url: '/trpc/auth.signUp', remoteAddress: `10.77.0.${++ip}`, headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ json: { email, name: 'Someone', password } }) });
  /** The answer with the email it echoes blanked, and the headers that vary per response dropped. */
  const shape = (res: LightMyRequestResponse, email: string) => ({
    status: res.statusCode,
    body: res.body.replaceAll(email, '<email>'),
    headers: Object.keys(res.headers).filter((h) => !['date', 'content-length', 'x-request-id'].includes(h)).sort(),
  });
  const mailTo = async (to: string, subject: string, after: number) => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const mail = smtp.mails.slice(after).find((m) => m.to.includes(to) && readableMail(m.raw).includes(subject));
      if (mail) return readableMail(mail.raw);
      if (Date.now() > deadline) throw new Error(`no mail to ${to} about "${subject}"`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it('answers a taken email exactly as a new one, sets no session, changes nothing and mails the owner', async () => {
    const [before] = await t.query(`select name, password_hash, (select count(*)::int from sessions s where s.user_id = u.id) as sessions from users u where email = $1`, [owner.email]);
    const mailsBefore = smtp.mails.length;
    const fresh = await signUp('fresh-person@example.com');
    const taken = await signUp(owner.email);
    expect(fresh.statusCode, fresh.body).toBe(200);
    expect(shape(taken, owner.email)).toEqual(shape(fresh, 'fresh-person@example.com'));
    expect(taken.headers['set-cookie']).toBeUndefined();
    expect(fresh.headers['set-cookie']).toBeUndefined();
    expect(taken.body).not.toMatch(/exist|taken|already/i);

    const [after] = await t.query(`select name, password_hash, (select count(*)::int from sessions s where s.user_id = u.id) as sessions from users u where email = $1`, [owner.email]);
    expect(after).toEqual(before);
    expect((await app.inject({ method: 'POST', url: '/trpc/auth.signIn', remoteAddress: '10.77.1.1', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ json: { email: owner.email, password: 'a fine long password' } }) })).statusCode).toBe(401);

    // The owner hears of it; the new address gets its confirmation link.
    expect(await mailTo(owner.email, 'Someone tried to sign up with your email', mailsBefore)).toContain('https://stagebook.example.com/reset-password');
    expect(await mailTo('fresh-person@example.com', 'Confirm your email', mailsBefore)).toContain('/verify-email#token=');
    const [event] = await t.query(`select action, target_id from audit_events where action = 'user.signup_existing' order by seq desc limit 1`);
    expect(event).toEqual({ action: 'user.signup_existing', target_id: owner.userId });
  });

  it('two sign-ups racing for one new email both get the ordinary answer and make one account', async () => {
    const email = 'racing@example.com';
    const answers = await Promise.all([signUp(email), signUp(email), signUp(email)]);
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200]);
    expect(new Set(answers.map((a) => a.body)).size).toBe(1);
    expect(await t.query(`select count(*)::int as n from users where email = $1`, [email])).toEqual([{ n: 1 }]);
  });

  it('does the same work for a taken email: the password is hashed either way', async () => {
    // CPU time of this process (scrypt runs on libuv's threads, which it counts), not wall time: the
    // machine's other load does not move it. Baseline: one password hash, measured in the same run.
    const cpu = async (f: () => Promise<unknown>) => {
      const c0 = process.cpuUsage();
      await f();
      const c = process.cpuUsage(c0);
      return c.user + c.system;
    };
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const hash: number[] = [];
    const fresh: number[] = [];
    const taken: number[] = [];
    for (let i = 0; i < 3; i++) {
      hash.push(await cpu(() => hashPassword('a fine long password')));
      fresh.push(await cpu(() => signUp(`cpu-${i}@example.com`)));
      taken.push(await cpu(() => signUp(owner.email)));
    }
    // An early return for a taken email costs a few ms; a hash costs tens.
    expect(median(taken)).toBeGreaterThan(0.6 * median(hash));
    expect(median(fresh)).toBeGreaterThan(0.6 * median(hash));
    expect(median(taken) / median(fresh)).toBeGreaterThan(0.5);
    expect(median(taken) / median(fresh)).toBeLessThan(2);
  });
});
