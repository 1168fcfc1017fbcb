import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '@/server/app';
import { openTestDatabase, type TestDatabase } from '../helpers/db';

// The limits the README promises: 5 failed sign-ins per email, 30 per client address, 20 sign-ups
// per client address, in a 15-minute window.
const PER_EMAIL = 5;
const PER_CLIENT = 30;
const SIGNUPS_PER_CLIENT = 20;

describe('the sign-in limit holds against batches and concurrent requests (real app, Postgres server)', () => {
  let t: TestDatabase;
  let app: FastifyInstance;

  beforeAll(async () => {
    t = await openTestDatabase('postgres');
    app = await buildApp({ db: t.db, driver: t.driver, role: 'web' });
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await t?.dispose();
  });

  const post = (path: string, json: unknown, remoteAddress: string) =>
    app.inject({ method: 'POST', url: `/trpc/${path}`, remoteAddress, headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ json }) });
  const signUp = (email: string, password: string, ip: string) => post('auth.signUp', { email, name: 'Victim', password }, ip);
  const signIn = (email: string, password: string, ip: string) => post('auth.signIn', { email, password }, ip);
  const hasSessionCookie = (res: LightMyRequestResponse) => res.cookies.some((c) => c.name === 'sb_session' && c.value !== '');
  const failedSignInEvents = async (email: string) =>
    Number((await t.query(`select count(*)::int as n from audit_events where action = 'user.signin_failed' and details->>'email' = $1`, [email]))[0]!.n);
  /** Makes the attempt window pass, as 15 minutes would. */
  const windowPasses = () => t.query(`update auth_attempt_counters set window_start = now() - interval '16 minutes'`);

  it('refuses a batch of 40 guesses with a 400 naming the procedure, evaluating none and setting no cookie', async () => {
    const email = 'batch-victim@example.com';
    expect((await signUp(email, 'the right password', '10.1.0.1')).statusCode).toBe(200);
    const guesses = Array.from({ length: 40 }, (_, i) => ({ email, password: i === 39 ? 'the right password' : `guess number ${i}` }));
    const paths = guesses.map(() => 'auth.signIn').join(',');
    const body = Object.fromEntries(guesses.map((g, i) => [String(i), { json: g }]));
    const res = await app.inject({
      method: 'POST',
      url: `/trpc/${paths}?batch=1`,
      remoteAddress: '10.1.0.2',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(body),
    });
    expect(res.statusCode).toBe(400);
    expect(res.body).toMatch(/auth\.signIn cannot be batched/);
    expect(hasSessionCookie(res)).toBe(false);
    expect(await failedSignInEvents(email)).toBe(0);

    // Hidden among other procedures, and a batch of one, are refused the same way.
    const mixed = await app.inject({ method: 'GET', url: `/trpc/auth.me,auth.signIn?batch=1&input=${encodeURIComponent(JSON.stringify({ 1: { json: guesses[39] } }))}`, remoteAddress: '10.1.0.2' });
    expect(mixed.statusCode).toBe(400);
    const one = await app.inject({ method: 'POST', url: '/trpc/auth.signUp?batch=1', remoteAddress: '10.1.0.2', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ 0: { json: { email: 'b@example.com', name: 'B', password: 'long enough pw' } } }) });
    expect(one.statusCode).toBe(400);
    expect(one.body).toMatch(/auth\.signUp cannot be batched/);
    // Batches without password-checking procedures still work.
    const fine = await app.inject({ method: 'GET', url: `/trpc/auth.me,auth.me?batch=1&input=${encodeURIComponent('{}')}`, remoteAddress: '10.1.0.2' });
    expect(fine.statusCode).toBe(200);
  });

  it('evaluates at most 5 of 20 parallel wrong passwords, and refuses the right one until the window passes', async () => {
    const email = 'parallel-victim@example.com';
    expect((await signUp(email, 'the right password', '10.2.0.1')).statusCode).toBe(200);
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => signIn(email, `wrong guess ${i}`, `10.2.1.${i}`)));
    const statuses = answers.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(PER_EMAIL);
    expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(20 - PER_EMAIL);
    expect(answers.some(hasSessionCookie)).toBe(false);
    expect(await failedSignInEvents(email)).toBeLessThanOrEqual(PER_EMAIL);

    const right = await signIn(email, 'the right password', '10.2.2.1');
    expect(right.statusCode).toBe(429);
    expect(hasSessionCookie(right)).toBe(false);

    await windowPasses();
    const later = await signIn(email, 'the right password', '10.2.2.1');
    expect(later.statusCode).toBe(200);
    expect(hasSessionCookie(later)).toBe(true);
  });

  it('counts every attempt from one address across emails: at most 30 of 40 parallel guesses are evaluated', async () => {
    await windowPasses();
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => signIn(`nobody-${i}@example.com`, 'some guess', '10.3.0.1')));
    const statuses = answers.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(PER_CLIENT);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(40 - PER_CLIENT);
    expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
  });

  it('a correct sign-in does not use up the budget: five users sign in and out all day from one address', async () => {
    await windowPasses();
    const email = 'regular@example.com';
    expect((await signUp(email, 'the right password', '10.4.0.1')).statusCode).toBe(200);
    for (let i = 0; i < PER_EMAIL + 3; i++) {
      const res = await signIn(email, 'the right password', '10.4.0.1');
      expect(res.statusCode).toBe(200);
      expect(hasSessionCookie(res)).toBe(true);
    }
  });

  it('limits parallel sign-ups per address before hashing any password', async () => {
    await windowPasses();
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => signUp(`new-${i}@example.com`, 'a fine password', '10.5.0.1')));
    const statuses = answers.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(SIGNUPS_PER_CLIENT);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(30 - SIGNUPS_PER_CLIENT);
    const accounts = Number((await t.query(`select count(*)::int as n from users where email like 'new-%'`))[0]!.n);
    expect(accounts).toBeLessThanOrEqual(SIGNUPS_PER_CLIENT);
  });
});
