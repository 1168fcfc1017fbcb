import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { teamMembers, users } from '@/db/schema';
import { pythonSettings, type PythonSettings } from '@/server/python/venv';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import { resolveApiKey } from '@/server/services/api-keys/resolve-api-key';
import { signUp } from '@/server/services/auth/sign-up';
import { buildPythonTable, type PythonCellError } from '@/server/services/cells/build-python-table';
import type { Actor, UserId } from '@/server/services/context';
import { withSandboxSession, type SandboxScope } from '@/server/services/datasets/sql-sandbox';
import { callerFor, ctxFor, newUser, trpcCode } from '../helpers/api';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { pythonCellVenv } from '../helpers/python';

/**
 * Instance settings (the unsandboxed Python switch) belong to instance admins: the verified emails
 * of STAGEBOOK_ADMIN_EMAILS. A team's admin, an unverified account holding a listed email, an API
 * key or a visitor cannot read or change them; the switch is audited, and a Python run without
 * bubblewrap follows it.
 */
const ADMIN_EMAIL = `instance-admin-${Date.now()}@example.com`;
let t: TestDatabase;
let admin: Extract<Actor, { type: 'user' }>;
let scope: SandboxScope;
let teamAdmin: Awaited<ReturnType<typeof newUser>>;
let settings: PythonSettings;

beforeAll(async () => {
  process.env.STAGEBOOK_ADMIN_EMAILS = `someone-else@example.com, ${ADMIN_EMAIL.toUpperCase()}`;
  pythonCellVenv();
  t = await openTestDatabase('postgres');
  const { user } = await signUp({ ctx: ctxFor(t.db, null), input: { email: ADMIN_EMAIL, name: 'Root', password: 'correct horse battery' } });
  await t.db.update(users).set({ emailVerifiedAt: new Date() }).where(eq(users.id, user.id));
  admin = { type: 'user', userId: user.id as UserId, email: user.email, name: user.name };
  teamAdmin = await newUser(t.db, 'team-admin');
  const team = await callerFor(t.db, teamAdmin).teams.create({ name: 'T' });
  scope = { projectId: (await callerFor(t.db, teamAdmin).projects.create({ teamId: team.id, name: 'P' })).id, environment: 'design' };
  await withSandboxSession(t.db, scope, { timeoutMs: 10_000 }, (q) => q('CREATE TABLE nums AS SELECT 1::bigint AS x'));
  settings = { ...pythonSettings(), allowUnsandboxed: false, bwrap: '/nonexistent/bwrap' };
}, 900_000);

afterAll(async () => {
  delete process.env.STAGEBOOK_ADMIN_EMAILS;
  await disposeWithProjectRoles(t);
});

const audits = async () => (await t.query(`select actor_label, details from audit_events where action = 'system.python_unsandboxed_change' order by seq`)) as { actor_label: string; details: { before: boolean; after: boolean } }[];

describe('instance settings', () => {
  it('refuses everyone but an instance admin, and changes nothing', async () => {
    // An account holding a listed email that it has not verified: sign-up alone is not enough.
    const { user: squatter } = await signUp({ ctx: ctxFor(t.db, null), input: { email: 'someone-else@example.com', name: 'Squatter', password: 'correct horse battery' } });
    const unverified: Actor = { type: 'user', userId: squatter.id as UserId, email: squatter.email, name: squatter.name };
    const editor = await newUser(t.db, 'editor');
    const teamId = (await t.query(`select team_id from projects where id = '${scope.projectId}'`))[0]!.team_id as string;
    await t.db.insert(teamMembers).values({ teamId, userId: editor.userId, role: 'editor' });
    const key = await createApiKey({ ctx: ctxFor(t.db, { type: 'system', name: 'test' }), input: { projectId: scope.projectId, name: 'k', scopes: ['deploy'] } });
    const who: Record<string, Actor | null> = { teamAdmin, editor, unverified, key: await resolveApiKey(t.db, key.secret), anonymous: null };
    const codes: Record<string, string[]> = {};
    for (const [name, actor] of Object.entries(who)) {
      const c = callerFor(t.db, actor);
      codes[name] = [await trpcCode(c.system.setPythonUnsandboxed({ allowed: true })), await trpcCode(c.system.instanceSettings())];
    }
    expect(codes).toEqual({
      teamAdmin: ['FORBIDDEN', 'FORBIDDEN'],
      editor: ['FORBIDDEN', 'FORBIDDEN'],
      unverified: ['FORBIDDEN', 'FORBIDDEN'],
      key: ['UNAUTHORIZED', 'UNAUTHORIZED'],
      anonymous: ['UNAUTHORIZED', 'UNAUTHORIZED'],
    });
    expect(await audits()).toEqual([]);
    expect((await callerFor(t.db, teamAdmin).auth.me())?.instanceAdmin).toBe(false);
    expect((await callerFor(t.db, admin).auth.me())?.instanceAdmin).toBe(true);
  });

  it('lets an instance admin allow unsandboxed Python, audited; a run without bubblewrap follows the switch', { timeout: 120_000 }, async () => {
    const source = '# inputs: nums\n# output: out\nnums.assign(y=nums.x * 2)\n';
    const build = (table: string) => buildPythonTable(t.db, scope, { cellId: 'c', source, table, timeoutMs: 60_000, settings });
    const refused = await build('before_out').catch((e: unknown) => e);
    expect((refused as PythonCellError).kind).toBe('sandbox');
    expect((refused as Error).message).toContain('Instance settings page');

    const c = callerFor(t.db, admin);
    const view = await c.system.setPythonUnsandboxed({ allowed: true });
    expect(view.pythonUnsandboxed).toBe(true);
    expect(view.history[0]).toMatchObject({ by: ADMIN_EMAIL, allowed: true });
    expect(await build('allowed_out')).toMatchObject({ mode: 'unsandboxed', rowCount: 1 });

    await c.system.setPythonUnsandboxed({ allowed: false });
    expect(((await build('after_out').catch((e: unknown) => e)) as PythonCellError).kind).toBe('sandbox');
    expect((await audits()).map((a) => [a.actor_label, a.details.before, a.details.after])).toEqual([
      [ADMIN_EMAIL, false, true],
      [ADMIN_EMAIL, true, false],
    ]);
  });
});
