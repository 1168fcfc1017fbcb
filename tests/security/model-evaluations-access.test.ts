import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { teamMembers } from '@/db/schema';
import { buildApp } from '@/server/app';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import { createSession } from '@/server/services/auth/session';
import type { Actor } from '@/server/services/context';
import { trainModelVersion } from '@/server/services/models/train-model-version';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { uploadCredit } from '../helpers/models';

/**
 * `POST /api/v1/projects/{project}/models/{model}/versions/{version}/evaluations` reads a dataset
 * and writes a row: editors only, keys only with the `run` scope of that project, and a dataset of
 * another project is never reached through it.
 */
describe('model evaluations: who may run them, and on what', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let projectId: string;
  let otherProjectId: string;
  const cookies: Record<string, string> = {};
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    t = await openTestDatabase('postgres');
    const admin: Extract<Actor, { type: 'user' }> = await newUser(t.db, 'admin');
    const team = await callerFor(t.db, admin).teams.create({ name: 'Risk' });
    projectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'Credit' })).id;
    otherProjectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'Other' })).id;
    await uploadCredit(t.db, admin, projectId);
    await uploadCredit(t.db, admin, otherProjectId, 'secret_credit');
    const ctx = ctxFor(t.db, admin);
    await trainModelVersion({ ctx, input: { projectId, modelName: 'risk', dataset: 'credit', spec: { target: 'status', positiveClass: 'bad', algorithm: 'logistic_regression' } } });
    for (const role of ['viewer', 'editor'] as const) {
      const u = await newUser(t.db, role);
      await t.db.insert(teamMembers).values({ teamId: team.id, userId: u.userId, role });
      cookies[role] = `sb_session=${(await createSession(t.db, u.userId)).token}`;
    }
    cookies.outsider = `sb_session=${(await createSession(t.db, (await newUser(t.db, 'outsider')).userId)).token}`;
    keys.read = (await createApiKey({ ctx, input: { projectId, name: 'reader', scopes: ['read'] } })).secret;
    keys.run = (await createApiKey({ ctx, input: { projectId, name: 'ci', scopes: ['run'] } })).secret;
    keys.otherRun = (await createApiKey({ ctx, input: { projectId: otherProjectId, name: 'other-ci', scopes: ['run'] } })).secret;
    app = await buildApp({ db: t.db, driver: t.driver, role: 'all' });
  });
  afterAll(async () => {
    await app?.close();
    await disposeWithProjectRoles(t);
  });

  const evaluate = (headers: Record<string, string>, dataset = 'credit') =>
    app.inject({ method: 'POST', url: `/api/v1/projects/${projectId}/models/risk/versions/1/evaluations`, headers: { 'content-type': 'application/json', origin: 'http://localhost', ...headers }, payload: { dataset } });

  it('refuses anonymous callers, viewers, outsiders, keys without the run scope and keys of another project', async () => {
    expect((await evaluate({})).statusCode).toBe(401);
    expect((await evaluate({ cookie: cookies.viewer! })).statusCode).toBe(403);
    expect((await evaluate({ cookie: cookies.outsider! })).statusCode).toBe(403);
    expect((await evaluate({ authorization: `Bearer ${keys.read}` })).statusCode).toBe(403);
    expect((await evaluate({ authorization: `Bearer ${keys.otherRun}` })).statusCode).toBe(403);
  });

  it('lets an editor and a run key evaluate, and never reaches a dataset of another project', async () => {
    expect((await evaluate({ authorization: `Bearer ${keys.run}` })).statusCode).toBe(201);
    const leak = await evaluate({ authorization: `Bearer ${keys.run}` }, 'secret_credit');
    expect(leak.statusCode).toBe(404);
    expect(leak.body).not.toContain('auc');
  });
});
