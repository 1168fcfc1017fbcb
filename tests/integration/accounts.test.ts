import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeys, auditEvents, sessions, users } from '@/db/schema';
import { resolveApiKey } from '@/server/services/api-keys/resolve-api-key';
import { resolveSession } from '@/server/services/auth/session';
import { SESSION_COOKIE, sha256Hex } from '@/server/services/auth/tokens';
import { verifyAuditChain } from '@/server/services/audit/verify-audit-chain';
import { callerFor, ctxFor, newUser, trpcCode } from '../helpers/api';
import { drivers, openTestDatabase, type TestDatabase } from '../helpers/db';
import { createCaller } from '@/server/api/root';

describe.each(drivers)('accounts, teams and API keys on %s', (driver) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await openTestDatabase(driver);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  const actions = async (where: { teamId?: string; projectId?: string }) => {
    const caller = callerFor(t.db, { type: 'system', name: 'test' });
    const { events } = await caller.audit.list({ ...where, limit: 200 });
    return events.map((e) => e.action);
  };

  it('signs up without a session, signs in with the new password, signs out and the session stops working', async () => {
    const ctx = ctxFor(t.db, null);
    const answer = await createCaller(ctx).auth.signUp({ email: 'Ada@Example.com', name: 'Ada', password: 'analytical engine' });
    expect(answer).toEqual({ email: 'ada@example.com', checkEmail: false });
    expect(ctx.cookies.get(SESSION_COOKIE)).toBeUndefined();

    const signInCtx = ctxFor(t.db, null);
    const user = await createCaller(signInCtx).auth.signIn({ email: 'ada@example.com', password: 'analytical engine' });
    const token = signInCtx.cookies.get(SESSION_COOKIE)!;
    expect(token).toBeTruthy();
    const [stored] = await t.db.select().from(sessions).where(eq(sessions.tokenHash, sha256Hex(token)));
    expect(stored?.userId).toBe(user.id);
    const actor = await resolveSession(t.db, token);
    expect(actor?.email).toBe('ada@example.com');

    const signedIn = ctxFor(t.db, actor, { sessionToken: token });
    await createCaller(signedIn).auth.signOut();
    expect(await resolveSession(t.db, token)).toBeNull();

    // A taken email: the same answer, nothing changes (name, password), the attempt is audited.
    const dupCtx = ctxFor(t.db, null);
    expect(await createCaller(dupCtx).auth.signUp({ email: 'ada@example.com', name: 'Ada 2', password: 'someone elses pw' })).toEqual(answer);
    expect(dupCtx.cookies.get(SESSION_COOKIE)).toBeUndefined();
    const [row] = await t.db.select().from(users).where(eq(users.email, 'ada@example.com'));
    expect(row?.name).toBe('Ada');
    expect(await trpcCode(createCaller(ctxFor(t.db, null)).auth.signIn({ email: 'ada@example.com', password: 'someone elses pw' }))).toBe('UNAUTHORIZED');
    expect(await trpcCode(createCaller(ctxFor(t.db, null)).auth.signIn({ email: 'ada@example.com', password: 'analytical engine' }))).toBe('OK');
    const events = await t.db.select().from(auditEvents).where(eq(auditEvents.action, 'user.signup_existing'));
    expect(events.map((e) => e.targetId)).toContain(user.id);
  });

  it('rejects a wrong password and locks sign-in after repeated failures, even with the right password', async () => {
    const email = `locked-${driver}@example.com`;
    await createCaller(ctxFor(t.db, null)).auth.signUp({ email, name: 'L', password: 'right password 1' });
    const attempt = (password: string) => createCaller(ctxFor(t.db, null, { clientIp: '10.9.9.9' })).auth.signIn({ email, password });
    expect(await trpcCode(attempt('wrong password'))).toBe('UNAUTHORIZED');
    expect(await trpcCode(attempt('right password 1'))).toBe('OK');
    for (let i = 0; i < 5; i++) await trpcCode(attempt(`wrong ${i}`));
    await expect(attempt('right password 1')).rejects.toMatchObject({ code: 'TOO_MANY_REQUESTS', message: expect.stringContaining('too many') });
    expect(await trpcCode(attempt('wrong again'))).toBe('TOO_MANY_REQUESTS');
  });

  it('lets an admin invite, change roles and remove members, never the last admin, all audited', async () => {
    const admin = await newUser(t.db, 'admin');
    const bob = await newUser(t.db, 'bob');
    const a = callerFor(t.db, admin);
    const team = await a.teams.create({ name: `Risk ${driver}` });
    expect(team.role).toBe('admin');

    expect(await a.teams.invite({ teamId: team.id, email: bob.email, role: 'editor' })).toMatchObject({ status: 'added' });
    await expect(a.teams.invite({ teamId: team.id, email: bob.email, role: 'viewer' })).rejects.toMatchObject({ code: 'CONFLICT' });

    // Bob, an editor, may create projects but not manage members.
    const b = callerFor(t.db, bob);
    await b.projects.create({ teamId: team.id, name: 'Scoring' });
    expect(await trpcCode(b.teams.invite({ teamId: team.id, email: 'x@example.com', role: 'viewer' }))).toBe('FORBIDDEN');

    // An unknown email gets a pending invitation; signing up with that email is not enough (anyone
    // could): without email (no SMTP here) an admin approves the account that signed up.
    const carolEmail = `carol-${driver}@example.com`;
    expect(await a.teams.invite({ teamId: team.id, email: carolEmail, role: 'viewer' })).toMatchObject({ status: 'invited' });
    expect((await a.teams.members({ teamId: team.id })).invitations.map((i) => i.email)).toContain(carolEmail);
    await createCaller(ctxFor(t.db, null)).auth.signUp({ email: carolEmail, name: 'Carol', password: 'carol carol carol' });
    const waiting = await a.teams.members({ teamId: team.id });
    expect(waiting.members.map((m) => m.email)).not.toContain(carolEmail);
    const carolInvitation = waiting.invitations.find((i) => i.email === carolEmail)!;
    expect(carolInvitation.hasAccount).toBe(true);
    expect(await trpcCode(b.teams.approveInvitation({ teamId: team.id, invitationId: carolInvitation.id }))).toBe('FORBIDDEN');
    await a.teams.approveInvitation({ teamId: team.id, invitationId: carolInvitation.id });
    const after = await a.teams.members({ teamId: team.id });
    expect(after.members.find((m) => m.email === carolEmail)?.role).toBe('viewer');
    expect(after.invitations).toHaveLength(0);

    await a.teams.changeRole({ teamId: team.id, userId: bob.userId, role: 'viewer' });
    expect(await trpcCode(b.projects.create({ teamId: team.id, name: 'Nope' }))).toBe('FORBIDDEN');

    // The last admin can be neither demoted nor removed.
    await expect(a.teams.changeRole({ teamId: team.id, userId: admin.userId, role: 'editor' })).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
    await expect(a.teams.removeMember({ teamId: team.id, userId: admin.userId })).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
    await a.teams.changeRole({ teamId: team.id, userId: bob.userId, role: 'admin' });
    await a.teams.removeMember({ teamId: team.id, userId: admin.userId });
    expect(await trpcCode(a.teams.members({ teamId: team.id }))).toBe('FORBIDDEN');

    const seen = await actions({ teamId: team.id });
    expect(seen).toEqual(
      expect.arrayContaining(['team.create', 'team.member_invite', 'project.create', 'team.invitation_approve', 'team.member_role_change', 'team.member_remove']),
    );
    const [roleChange] = (await callerFor(t.db, bob).audit.list({ teamId: team.id, action: 'team.member_role_change', limit: 1 })).events;
    expect(roleChange?.details).toEqual({ before: { role: 'viewer' }, after: { role: 'admin' } });
    expect(roleChange?.actor.label).toBe(admin.email);
    expect(roleChange?.requestId).toMatch(/^test-/);
  });

  it('shows an API key secret once, stores only its hash, records last use and honours revocation', async () => {
    const admin = await newUser(t.db, 'keys');
    const a = callerFor(t.db, admin);
    const team = await a.teams.create({ name: `Keys ${driver}` });
    const project = await a.projects.create({ teamId: team.id, name: 'Churn' });
    const key = await a.apiKeys.create({ projectId: project.id, name: 'ci', scopes: ['read', 'score:churn'] });
    expect(key.secret).toMatch(/^sbk_/);
    const listed = await a.apiKeys.list({ projectId: project.id });
    expect(JSON.stringify(listed)).not.toContain(key.secret);
    const [row] = await t.db.select().from(apiKeys).where(eq(apiKeys.id, key.id));
    expect(row?.keyHash).toBe(sha256Hex(key.secret));

    const actor = await resolveApiKey(t.db, key.secret);
    expect(actor).toMatchObject({ type: 'apiKey', projectId: project.id, scopes: ['read', 'score:churn'] });
    expect((await a.apiKeys.list({ projectId: project.id }))[0]?.lastUsedAt).toBeInstanceOf(Date);

    // The key reads its own project, not another one, and cannot manage keys.
    const k = callerFor(t.db, actor);
    expect((await k.projects.get({ projectId: project.id }).catch((e: { code: string }) => e.code))).toBe('FORBIDDEN');
    expect(await trpcCode(k.runs.list({ projectId: project.id }))).toBe('OK');
    expect(await trpcCode(k.apiKeys.list({ projectId: project.id }))).toBe('FORBIDDEN');
    const other = await a.projects.create({ teamId: team.id, name: 'Other' });
    expect(await trpcCode(k.runs.list({ projectId: other.id }))).toBe('FORBIDDEN');

    await expect(a.apiKeys.create({ projectId: project.id, name: 'bad', scopes: ['admin'] })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('scopes.0'),
    });

    await a.apiKeys.revoke({ projectId: project.id, keyId: key.id });
    expect(await resolveApiKey(t.db, key.secret)).toBeNull();
    await expect(a.apiKeys.revoke({ projectId: project.id, keyId: key.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });

    const seen = await actions({ projectId: project.id });
    expect(seen).toEqual(expect.arrayContaining(['apikey.create', 'apikey.revoke', 'project.create']));
    const [created] = await t.db.select().from(auditEvents).where(eq(auditEvents.action, 'apikey.create'));
    expect(JSON.stringify(created)).not.toContain(key.secret);
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true });
  });

  it('paginates the audit list with a cursor and filters by actor, action and time', async () => {
    const admin = await newUser(t.db, 'pager');
    const a = callerFor(t.db, admin);
    const team = await a.teams.create({ name: `Pager ${driver}` });
    for (let i = 0; i < 7; i++) await a.projects.create({ teamId: team.id, name: `p${i}` });
    const page1 = await a.audit.list({ teamId: team.id, action: 'project.create', limit: 3 });
    const page2 = await a.audit.list({ teamId: team.id, action: 'project.create', limit: 3, cursor: page1.nextCursor! });
    const page3 = await a.audit.list({ teamId: team.id, action: 'project.create', limit: 3, cursor: page2.nextCursor! });
    const names = [...page1.events, ...page2.events, ...page3.events].map((e) => e.details.name);
    expect(names).toEqual(['p6', 'p5', 'p4', 'p3', 'p2', 'p1', 'p0']);
    expect(page3.nextCursor).toBeNull();
    expect((await a.audit.list({ teamId: team.id, actor: admin.email })).events.length).toBe(8);
    expect((await a.audit.list({ teamId: team.id, actor: 'nobody@example.com' })).events).toHaveLength(0);
    expect((await a.audit.list({ teamId: team.id, from: new Date(Date.now() + 60_000) })).events).toHaveLength(0);
    const third = page3.events[0]!;
    const byTarget = await a.audit.list({ teamId: team.id, target: third.target.id! });
    expect(byTarget.events.map((e) => [e.action, e.details.name])).toEqual([['project.create', 'p0']]);
    expect((await a.audit.list({ teamId: team.id, target: 'team' })).events.map((e) => e.action)).toEqual(['team.create']);
  });
});
