import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { teamMembers } from '@/db/schema';
import { buildApp } from '@/server/app';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import { createSession } from '@/server/services/auth/session';
import { scoringRuntime } from '@/server/services/scoring/runtime';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { tinyEndpoint } from '../helpers/models';

/**
 * tRPC `scoring.predict` with an API key takes a fast path (api/routers/scoring.ts) that skips the
 * request context, the middleware chain and superjson. It must decide and answer exactly as the
 * procedure does: every call here is also sent as a one-call batch (`?batch=1`), which tRPC's own
 * adapter serves through the procedure, and the two answers must be equal, refusals included; and
 * what a call notes (prediction log, request stats, the key's last use) must be noted once.
 */
describe('tRPC scoring.predict fast path', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let endpointId: string;
  let keys: { score: string; read: string; otherProject: string };
  let viewerCookie: string;
  const name = 'fast-path';

  beforeAll(async () => {
    t = await openTestDatabase('postgres');
    const admin = await newUser(t.db, 'admin');
    const team = await callerFor(t.db, admin).teams.create({ name: 'Ops' });
    const projectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'Serving' })).id;
    const otherId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'Other' })).id;
    endpointId = (await tinyEndpoint(t.db, admin, projectId, name)).endpoint.id;
    const ctx = ctxFor(t.db, admin);
    keys = {
      score: (await createApiKey({ ctx, input: { projectId, name: 'scorer', scopes: [`score:${name}`] } })).secret,
      read: (await createApiKey({ ctx, input: { projectId, name: 'reader', scopes: ['read'] } })).secret,
      otherProject: (await createApiKey({ ctx, input: { projectId: otherId, name: 'elsewhere', scopes: [`score:${name}`] } })).secret,
    };
    const viewer = await newUser(t.db, 'viewer');
    await t.db.insert(teamMembers).values({ teamId: team.id, userId: viewer.userId, role: 'viewer' });
    viewerCookie = `sb_session=${(await createSession(t.db, viewer.userId)).token}`;
    app = await buildApp({ db: t.db, driver: t.driver, role: 'all' });
  });
  afterAll(async () => {
    await app?.close();
    await disposeWithProjectRoles(t);
  });

  const record = (i: number) => ({ x: (i % 10) + 0.5, kind: i % 3 === 0 ? 'a' : 'b' });
  const headersFor = (auth: string | null): Record<string, string> => ({
    'content-type': 'application/json',
    ...(auth === null ? {} : auth.startsWith('sb_session=') ? { cookie: auth } : { authorization: `Bearer ${auth}` }),
  });
  const single = (payload: unknown, auth: string | null) => app.inject({ method: 'POST', url: '/trpc/scoring.predict', headers: headersFor(auth), payload: JSON.stringify(payload) });
  const batched = (payload: unknown, auth: string | null) => app.inject({ method: 'POST', url: '/trpc/scoring.predict?batch=1', headers: headersFor(auth), payload: JSON.stringify({ 0: payload }) });
  const counts = async () => {
    await scoringRuntime(t.db).flushRecorders();
    const [log] = await t.query('select count(*)::int as n from prediction_log where endpoint_id = $1', [endpointId]);
    const [stats] = await t.query('select coalesce(sum(requests), 0)::int as requests, coalesce(sum(records), 0)::int as records, coalesce(sum(client_errors), 0)::int as client_errors from endpoint_request_stats where endpoint_id = $1', [endpointId]);
    return { logged: Number(log!.n), requests: Number(stats!.requests), records: Number(stats!.records), clientErrors: Number(stats!.client_errors) };
  };

  it('answers every call as tRPC’s own adapter does: scores, and each refusal with its code, status and message', async () => {
    const cases: [string, unknown, string | null][] = [
      ['three records', { json: { endpoint: name, records: [record(1), record(2), record(3)] } }, keys.score],
      ['a signed-in viewer', { json: { endpoint: name, records: [record(4)] } }, viewerCookie],
      ['superjson meta', { json: { endpoint: name, records: [record(5)] }, meta: { values: {} } }, keys.score],
      ['an unknown key', { json: { endpoint: name, records: [record(1)] } }, 'sb_live_not-a-key'],
      ['no credentials', { json: { endpoint: name, records: [record(1)] } }, null],
      ['a key without the scope', { json: { endpoint: name, records: [record(1)] } }, keys.read],
      ['a key of another project', { json: { endpoint: name, records: [record(1)] } }, keys.otherProject],
      ['no such endpoint', { json: { endpoint: 'no-such-endpoint', records: [record(1)] } }, keys.score],
      ['a name that is no endpoint name', { json: { endpoint: 'Not A Name', records: [record(1)] } }, keys.score],
      ['a bad record', { json: { endpoint: name, records: [record(1), { x: 'lots', kind: 'a' }] } }, keys.score],
      ['a missing feature', { json: { endpoint: name, records: [{ kind: 'a' }] } }, keys.score],
      ['no records', { json: { endpoint: name, records: [] } }, keys.score],
      ['records not a list', { json: { endpoint: name, records: 'x' } }, keys.score],
      ['a NUL in a value', { json: { endpoint: name, records: [{ x: 1, kind: 'a\u0000b' }] } }, keys.score],
      ['no input', {}, keys.score],
    ];
    const statuses = new Set<number>();
    for (const [label, payload, auth] of cases) {
      const fast = await single(payload, auth);
      const general = await batched(payload, auth);
      statuses.add(fast.statusCode);
      expect(fast.statusCode, `${label}: ${fast.body}`).toBe(general.statusCode);
      const [item] = general.json() as unknown[];
      expect(fast.json(), label).toEqual(item);
      expect(fast.headers['content-type'], label).toMatch(/^application\/json/);
    }
    // The cases cover answers and each kind of refusal.
    expect([...statuses].sort()).toEqual([200, 400, 401, 403, 404]);
  });

  it('notes each answered call once: its records in the prediction log, the request in the stats, the key’s last use', async () => {
    const before = await counts();
    for (let i = 0; i < 5; i++) expect((await single({ json: { endpoint: name, records: [record(i), record(i + 1)] } }, keys.score)).statusCode).toBe(200);
    expect((await single({ json: { endpoint: name, records: [{ x: 'lots', kind: 'a' }] } }, keys.score)).statusCode).toBe(400);
    expect((await single({ json: { endpoint: name, records: [record(1)] } }, keys.read)).statusCode).toBe(403);
    const after = await counts();
    // The policy's refusal (403) is not counted by scoring.predict, as before; the bad record is a client error.
    expect(after).toEqual({ logged: before.logged + 10, requests: before.requests + 6, records: before.records + 10, clientErrors: before.clientErrors + 1 });
    const [key] = await t.query(`select last_used_where from api_keys where name = 'scorer'`);
    expect(key!.last_used_where).toBe('POST /trpc/scoring.predict from 127.0.0.1');
  });
});
