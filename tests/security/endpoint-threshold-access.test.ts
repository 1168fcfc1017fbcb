import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { teamMembers } from '@/db/schema';
import { buildApp } from '@/server/app';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import { createSession } from '@/server/services/auth/session';
import type { Actor } from '@/server/services/context';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { tinyEndpoint } from '../helpers/models';

/**
 * An endpoint's decision threshold decides every label it returns: only deployers of its project set
 * it (tRPC `endpoints.update`, over HTTP as a browser or a script would call it); a scoring key,
 * an editor, an outsider or an anonymous caller cannot, and a refused call changes nothing.
 */
describe('endpoint threshold: who may set it', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let projectId: string;
  const cookies: Record<string, string> = {};
  let scoreKey: string;

  beforeAll(async () => {
    t = await openTestDatabase('postgres');
    const admin: Extract<Actor, { type: 'user' }> = await newUser(t.db, 'admin');
    const team = await callerFor(t.db, admin).teams.create({ name: 'Risk' });
    projectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'Thresholds' })).id;
    await tinyEndpoint(t.db, admin, projectId, 'guarded');
    for (const role of ['viewer', 'editor', 'deployer'] as const) {
      const u = await newUser(t.db, role);
      await t.db.insert(teamMembers).values({ teamId: team.id, userId: u.userId, role });
      cookies[role] = `sb_session=${(await createSession(t.db, u.userId)).token}`;
    }
    cookies.outsider = `sb_session=${(await createSession(t.db, (await newUser(t.db, 'outsider')).userId)).token}`;
    scoreKey = (await createApiKey({ ctx: ctxFor(t.db, admin), input: { projectId, name: 'scorer', scopes: ['score:guarded', 'read'] } })).secret;
    app = await buildApp({ db: t.db, driver: t.driver, role: 'all' });
  });
  afterAll(async () => {
    await app?.close();
    await disposeWithProjectRoles(t);
  });

  const update = (headers: Record<string, string>, threshold: unknown) =>
    app.inject({ method: 'POST', url: '/trpc/endpoints.update', headers: { 'content-type': 'application/json', ...headers }, payload: JSON.stringify({ json: { projectId, name: 'guarded', threshold } }) });
  const stored = async () => (await t.query("select threshold from endpoints where name = 'guarded'"))[0]!.threshold;

  it('refuses anonymous callers, viewers, editors, outsiders and scoring keys, and keeps the threshold', async () => {
    expect((await update({}, 0.1)).statusCode).toBe(401);
    for (const who of ['viewer', 'editor', 'outsider'] as const) expect((await update({ cookie: cookies[who]! }, 0.1)).statusCode).toBe(403);
    expect((await update({ authorization: `Bearer ${scoreKey}` }, 0.1)).statusCode).toBe(403);
    expect(await stored()).toBeNull();
  });

  it('lets a deployer set it, and refuses a value outside [0, 1] with a 400 naming it', async () => {
    const bad = await update({ cookie: cookies.deployer! }, 7);
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('threshold must be between 0 and 1');
    expect((await update({ cookie: cookies.deployer! }, 'NaN')).statusCode).toBe(400);
    expect(await stored()).toBeNull();
    expect((await update({ cookie: cookies.deployer! }, 0.25)).statusCode).toBe(200);
    expect(await stored()).toBe(0.25);
  });
});
