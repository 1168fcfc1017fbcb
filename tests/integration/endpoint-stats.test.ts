import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { teamMembers } from '@/db/schema';
import { buildApp } from '@/server/app';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import type { Actor } from '@/server/services/context';
import { RequestStatsRecorder } from '@/server/services/scoring/request-stats-recorder';
import { scoringRuntime } from '@/server/services/scoring/runtime';
import { callerFor, ctxFor, newUser, trpcCode } from '../helpers/api';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { drivers, openTestDatabase, type TestDatabase } from '../helpers/db';
import { tinyEndpoint } from '../helpers/models';

type User = Extract<Actor, { type: 'user' }>;

describe.each(drivers)('endpoint request stats on %s', (driver) => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let admin: User;
  let viewer: User;
  let projectId: string;
  let endpointId: string;
  let scoreKey: string;
  let readKey: string;
  const name = `stats-${driver}`;

  beforeAll(async () => {
    t = await openTestDatabase(driver);
    admin = await newUser(t.db, 'admin');
    const team = await callerFor(t.db, admin).teams.create({ name: 'Ops' });
    projectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'Serving' })).id;
    viewer = await newUser(t.db, 'viewer');
    await t.db.insert(teamMembers).values({ teamId: team.id, userId: viewer.userId, role: 'viewer' });
    endpointId = (await tinyEndpoint(t.db, admin, projectId, name)).endpoint.id;
    const ctx = ctxFor(t.db, admin);
    scoreKey = (await createApiKey({ ctx, input: { projectId, name: 'scorer', scopes: [`score:${name}`] } })).secret;
    readKey = (await createApiKey({ ctx, input: { projectId, name: 'reader', scopes: ['read'] } })).secret;
    app = await buildApp({ db: t.db, driver: t.driver, role: 'all' });
  });
  afterAll(async () => {
    await app?.close();
    await disposeWithProjectRoles(t);
  });

  const predict = (body: unknown, key = scoreKey, endpoint = name) =>
    app.inject({ method: 'POST', url: `/api/v1/endpoints/${endpoint}/predict`, headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, payload: JSON.stringify(body) });
  const record = (i: number) => ({ x: (i % 10) + 0.5, kind: i % 3 === 0 ? 'a' : 'b' });
  const statsRows = () => t.query('select * from endpoint_request_stats where endpoint_id = $1', [endpointId]);

  it('counts REST and tRPC predicts with their errors and latencies, writes them only on flush, and serves them merged by endpoints.stats', async () => {
    let goodRecords = 0;
    for (let i = 0; i < 40; i++) {
      const n = 1 + (i % 3);
      goodRecords += n;
      const res = await predict({ records: Array.from({ length: n }, (_, j) => record(i + j)) });
      expect(res.statusCode, res.body).toBe(200);
    }
    // Bad records and a bad envelope (400), a key without the scope (403): client errors.
    for (let i = 0; i < 4; i++) expect((await predict({ records: [{ x: 'lots', kind: 'a' }] })).statusCode).toBe(400);
    expect((await predict({ records: [] })).statusCode).toBe(400);
    expect((await predict({ records: [record(1)] }, readKey)).statusCode).toBe(403);
    // No such endpoint: nothing to count it against.
    expect((await predict({ records: [record(1)] }, scoreKey, 'no-such-endpoint')).statusCode).toBe(404);
    const keyActor = await scoringRuntime(t.db).apiKey(scoreKey);
    await callerFor(t.db, keyActor).scoring.predict({ endpoint: name, records: [record(1), record(2)] });
    expect(await trpcCode(callerFor(t.db, keyActor).scoring.predict({ endpoint: name, records: [{ kind: 'a' }] }))).toBe('BAD_REQUEST');

    // Nothing written per request: the hot path only counts in memory.
    expect(await statsRows()).toEqual([]);

    const expected = { requests: 40 + 4 + 1 + 1 + 2, records: goodRecords + 2, clientErrors: 4 + 1 + 1 + 1, serverErrors: 0 };
    await vi.waitFor(async () => {
      await scoringRuntime(t.db).flushRecorders();
      const stats = await callerFor(t.db, viewer).endpoints.stats({ projectId, name, range: '1h' });
      expect(stats.total).toMatchObject(expected);
    });
    // Flushing again overwrites this process's row of the minute: nothing is counted twice.
    await scoringRuntime(t.db).flushRecorders();
    const rows = await statsRows();
    expect(new Set(rows.map((r) => `${String(r.minute)}|${String(r.process)}`)).size).toBe(rows.length);
    expect(rows.every((r) => r.process === scoringRuntime(t.db).requestStats.process)).toBe(true);

    const stats = await callerFor(t.db, viewer).endpoints.stats({ projectId, name, range: '1h' });
    expect(stats).toMatchObject({ range: '1h', intervalMinutes: 1, total: expected });
    expect(stats.points).toHaveLength(60);
    expect(stats.points.reduce((a, p) => a + p.requests, 0)).toBe(expected.requests);
    const { p50, p95, p99, meanMs } = stats.total;
    // In-process inject of a tiny model: well under a second, and ordered.
    expect(p50).toBeGreaterThan(0);
    expect(p50!).toBeLessThanOrEqual(p95!);
    expect(p95!).toBeLessThanOrEqual(p99!);
    expect(p99!).toBeLessThan(1_000);
    expect(meanMs).toBeGreaterThan(0);
    const last = stats.points.at(-1)!;
    const lastButOne = stats.points.at(-2)!;
    expect(last.requests + lastButOne.requests).toBe(expected.requests);
  });

  it('adds up the rows of several serving processes and bins minutes by the range: minute, 15 minutes, hour', async () => {
    const before = (await callerFor(t.db, viewer).endpoints.stats({ projectId, name, range: '7d' })).total;
    const other = new RequestStatsRecorder(t.db);
    const now = Date.now();
    const minute = 60_000;
    // 20 minutes ago: 10 requests at 5 ms; 3 hours ago: 10 at 50 ms (one a 500); now: 10 at 0.5 ms.
    for (let i = 0; i < 10; i++) other.record(endpointId, 'ok', 1, 5, now - 20 * minute);
    for (let i = 0; i < 10; i++) other.record(endpointId, i === 0 ? 'serverError' : 'ok', 2, 50, now - 180 * minute);
    for (let i = 0; i < 10; i++) other.record(endpointId, 'ok', 1, 0.5, now);
    await other.flush();
    await other.flush();

    const hour = await callerFor(t.db, viewer).endpoints.stats({ projectId, name, range: '1h' });
    const twentyAgo = hour.points.find((p) => p.at === new Date(now - (now % minute) - 20 * minute).toISOString())!;
    expect(twentyAgo).toMatchObject({ requests: 10, records: 10, serverErrors: 0 });
    expect(twentyAgo.p50).toBeGreaterThan(3.9);
    expect(twentyAgo.p50).toBeLessThanOrEqual(5.02);

    const day = await callerFor(t.db, viewer).endpoints.stats({ projectId, name, range: '24h' });
    expect(day.intervalMinutes).toBe(15);
    expect(day.points).toHaveLength(96);
    expect(day.points.every((p) => new Date(p.at).getTime() % (15 * minute) === 0)).toBe(true);
    const threeAgo = day.points.find((p) => p.requests === 10 && p.serverErrors === 1)!;
    expect(threeAgo).toMatchObject({ records: 18 });
    expect(threeAgo.p99).toBeGreaterThan(39);
    expect(threeAgo.p99).toBeLessThanOrEqual(50.2);

    const week = await callerFor(t.db, viewer).endpoints.stats({ projectId, name, range: '7d' });
    expect(week.points).toHaveLength(168);
    expect(week.total).toMatchObject({ requests: before.requests + 30, serverErrors: before.serverErrors + 1, records: before.records + 10 + 18 + 10 });
  });

  it('shows stats to members only', async () => {
    const outsider = await newUser(t.db, 'outsider');
    expect(await trpcCode(callerFor(t.db, outsider).endpoints.stats({ projectId, name, range: '1h' }))).toBe('FORBIDDEN');
    expect(await trpcCode(callerFor(t.db, viewer).endpoints.stats({ projectId, name: 'no-such-endpoint', range: '1h' }))).toBe('NOT_FOUND');
  });
});
