import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '@/server/app';
import { callerFor, newUser } from '../helpers/api';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { tinyEndpoint } from '../helpers/models';

/**
 * Predict calls with made-up endpoint names: anonymous ones must cost no database lookup (before,
 * each refused call looked its name up to count it) and no caller's made-up names may push a real
 * endpoint out of the process's endpoint cache (before, unknown names shared its 1,000 entries).
 * Queries are counted where they leave for Postgres: node-postgres's Pool#query, called through.
 */
describe('predict with made-up endpoint names', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let key: string;
  const queries: string[] = [];
  const record = { records: [{ x: 3.5, kind: 'a' }] };

  beforeAll(async () => {
    t = await openTestDatabase('postgres');
    const admin = await newUser(t.db, 'admin');
    const caller = callerFor(t.db, admin);
    const team = await caller.teams.create({ name: 'Flood' });
    const projectId = (await caller.projects.create({ teamId: team.id, name: 'Flood' })).id;
    await tinyEndpoint(t.db, admin, projectId, 'real-one');
    key = (await caller.apiKeys.create({ projectId, name: 'client', scopes: ['score:real-one'] })).secret;
    app = await buildApp({ db: t.db, driver: t.driver, role: 'api' });
    const query = pg.Pool.prototype.query;
    vi.spyOn(pg.Pool.prototype, 'query').mockImplementation(function (this: pg.Pool, ...args: unknown[]) {
      const first = args[0];
      queries.push(typeof first === 'string' ? first : String((first as { text?: unknown }).text ?? ''));
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof query);
  }, 120_000);
  afterAll(async () => {
    vi.restoreAllMocks();
    await app?.close();
    await t?.dispose();
  });

  const predict = (name: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: `/api/v1/endpoints/${name}/predict`, headers: { 'content-type': 'application/json', ...headers }, payload: record });
  /** n calls, 50 at a time. */
  const inBatches = async <T,>(n: number, call: (i: number) => Promise<T>): Promise<T[]> => {
    const out: T[] = [];
    for (let i = 0; i < n; i += 50) out.push(...(await Promise.all(Array.from({ length: Math.min(50, n - i) }, (_, j) => call(i + j)))));
    return out;
  };
  const endpointLookups = () => queries.filter((q) => /from "endpoints"/.test(q)).length;

  it('refuses anonymous calls without a lookup, and made-up names never evict a served endpoint', { timeout: 120_000 }, async () => {
    const served = await predict('real-one', { authorization: `Bearer ${key}` });
    expect(served.statusCode, served.body).toBe(200);

    const before = queries.length;
    const anonymous = await inBatches(300, (i) => predict(`made-up-${i}`, i % 2 ? {} : { authorization: 'Bearer not-a-key' }));
    expect(new Set(anonymous.map((r) => r.statusCode))).toEqual(new Set([401]));
    // No endpoint or key lookup reached Postgres for 300 anonymous calls (the recorders' periodic
    // writes may pass meanwhile).
    expect(queries.slice(before).filter((q) => /from "(endpoints|api_keys)"/.test(q))).toEqual([]);

    // Loaded again after the flood: the change listener clears every cache once when it connects,
    // which may be after the first call.
    expect((await predict('real-one', { authorization: `Bearer ${key}` })).statusCode).toBe(200);
    // A key holder's made-up names are looked up (once each: a miss is remembered for 5 s) ...
    const lookups = endpointLookups();
    // More names than the cache holds (1,000), so before they pushed the real endpoint out.
    const keyed = await inBatches(1_100, (i) => predict(`keyed-miss-${i}`, { authorization: `Bearer ${key}` }));
    expect(new Set(keyed.map((r) => r.statusCode))).toEqual(new Set([404]));
    expect((await predict('keyed-miss-1099', { authorization: `Bearer ${key}` })).statusCode).toBe(404);
    expect(endpointLookups() - lookups).toBe(1_100);

    // ... and the real endpoint, loaded before 1,100 of them, is still served from memory.
    const afterFlood = endpointLookups();
    const again = await predict('real-one', { authorization: `Bearer ${key}` });
    expect(again.statusCode, again.body).toBe(200);
    expect(queries.filter((q) => /from "endpoints"/.test(q)).slice(afterFlood)).toEqual([]);
  });
});
