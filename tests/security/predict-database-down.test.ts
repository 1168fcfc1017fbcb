import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '@/server/app';
import { createSession } from '@/server/services/auth/session';
import { callerFor, newUser } from '../helpers/api';
import { POSTGRES_ADMIN_URL, openTestDatabase, type TestDatabase } from '../helpers/db';
import { tinyEndpoint } from '../helpers/models';

/**
 * The database goes away under a running API process (dropped, its connections terminated): predict
 * keeps answering from its caches what it has cached, and what needs the database is a 503 with a
 * Retry-After, never a 500.
 */
describe('predict while the database is down', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let key: string;
  let cookie: string;
  let caller: ReturnType<typeof callerFor>;
  const records = { records: [{ x: 3.5, kind: 'a' }] };

  beforeAll(async () => {
    t = await openTestDatabase('postgres');
    const admin = await newUser(t.db, 'admin');
    caller = callerFor(t.db, admin);
    const team = await caller.teams.create({ name: 'Scoring' });
    const projectId = (await caller.projects.create({ teamId: team.id, name: 'Scores' })).id;
    await tinyEndpoint(t.db, admin, projectId, 'down-test');
    key = (await caller.apiKeys.create({ projectId, name: 'client', scopes: ['score:down-test'] })).secret;
    cookie = `sb_session=${(await createSession(t.db, admin.userId)).token}`;
    app = await buildApp({ db: t.db, driver: t.driver, role: 'api' });
  }, 120_000);

  afterAll(async () => {
    await app?.close().catch(() => undefined);
    await t?.dispose().catch(() => undefined);
  });

  const predict = (headers: Record<string, string>) =>
    app.inject({ method: 'POST', url: '/api/v1/endpoints/down-test/predict', headers: { 'content-type': 'application/json', ...headers }, payload: records });

  it('serves cached keys and endpoints, and answers 503 with Retry-After for what needs the database', { timeout: 60_000 }, async () => {
    const warm = await predict({ authorization: `Bearer ${key}` });
    expect(warm.statusCode, warm.body).toBe(200);

    const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await admin.connect();
    const dbName = new URL(t.url!).pathname.slice(1);
    await admin.query(`drop database ${dbName} with (force)`);
    await admin.end();

    // The runtime clears its caches when its LISTEN connection drops (it can no longer hear of
    // changes), so a cached key is served only until then: 200 with the same answer, or 503.
    const cached = await predict({ authorization: `Bearer ${key}` });
    if (cached.statusCode === 200) expect(cached.json()).toEqual(warm.json());
    else expect({ status: cached.statusCode, retryAfter: cached.headers['retry-after'] }).toEqual({ status: 503, retryAfter: '5' });

    for (const headers of [{ authorization: 'Bearer sbk_unknown_key_that_is_not_cached' }, { cookie }] as Record<string, string>[]) {
      const res = await predict(headers);
      expect({ status: res.statusCode, body: res.json() as unknown }).toEqual({ status: 503, body: { error: { code: 'unavailable', message: expect.stringMatching(/database is unavailable/) } } });
      expect(res.headers['retry-after']).toBe('5');
    }
    // tRPC says the same: SERVICE_UNAVAILABLE (503), not INTERNAL_SERVER_ERROR.
    await expect(caller.teams.list()).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE', message: expect.stringMatching(/database is unavailable/) });
    const health = await app.inject({ method: 'GET', url: '/api/health' });
    expect(health.statusCode).toBe(503);
    // Liveness does not depend on the database: an orchestrator must not restart the process for it.
    const live = await app.inject({ method: 'GET', url: '/api/live' });
    expect({ status: live.statusCode, body: live.json() as unknown }).toEqual({ status: 200, body: { status: 'alive', role: 'api', version: expect.any(String) } });
  });
});
