import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '@/db/client';
import { buildApp } from '@/server/app';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import { revokeApiKey } from '@/server/services/api-keys/revoke-api-key';
import { createSession } from '@/server/services/auth/session';
import { signOut } from '@/server/services/auth/sign-out';
import type { Actor } from '@/server/services/context';
import { updateEndpoint } from '@/server/services/endpoints/update-endpoint';
import { importOnnxModel } from '@/server/services/models/import-onnx-model';
import { setChampion } from '@/server/services/models/set-champion';
import { scoringRuntime } from '@/server/services/scoring/runtime';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { tinyEndpoint, tinyOnnxModel } from '../helpers/models';

/**
 * Two scoring processes on one Postgres, as in production: instance B caches keys and endpoint
 * configs; changes made through instance A reach it by LISTEN/NOTIFY, not by B asking the database.
 */

/** Well inside the scoring runtime's cache lifetimes (keys and endpoints 60 s, sessions 10 s). */
const WITHIN_KEY_TTL_MS = 20_000;
const WITHIN_SESSION_TTL_MS = 5_000;

describe('scoring caches across two app instances on one Postgres', () => {
  let t: TestDatabase;
  let b: Database;
  let appA: FastifyInstance;
  let appB: FastifyInstance;
  /** Instance B's web role (tRPC), on B's database handle and so on B's caches. */
  let webB: FastifyInstance;
  let admin: Extract<Actor, { type: 'user' }>;
  let projectId: string;
  let listening: { ready: Promise<void>; release: () => Promise<void> };

  beforeAll(async () => {
    t = await openTestDatabase('postgres');
    b = await openDatabase({ url: t.url!, poolSize: 3 });
    admin = await newUser(t.db, 'admin');
    const team = await callerFor(t.db, admin).teams.create({ name: 'Two' });
    projectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'P' })).id;
    await tinyEndpoint(t.db, admin, projectId, 'twin', 'twin-model');
    // Version 2: the same file again (same artifact), so only the version number tells them apart.
    await importOnnxModel({ ctx: ctxFor(t.db, admin), input: { projectId, name: 'twin-model' }, body: await tinyOnnxModel() });
    appA = await buildApp({ db: t.db, driver: 'postgres', role: 'api' });
    appB = await buildApp({ db: b.db, driver: 'postgres', role: 'api' });
    webB = await buildApp({ db: b.db, driver: 'postgres', role: 'web' });
    listening = scoringRuntime(b.db).listen();
    await listening.ready;
  });
  afterAll(async () => {
    await listening?.release();
    await appB?.close();
    await webB?.close();
    await appA?.close();
    await b?.close();
    await disposeWithProjectRoles(t);
  });

  const predictOnB = async (secret: string) => {
    const res = await appB.inject({ method: 'POST', url: '/api/v1/endpoints/twin/predict', headers: { authorization: `Bearer ${secret}` }, payload: { records: [{ x: 3, kind: 'a' }] } });
    return { status: res.statusCode, version: res.statusCode === 200 ? (res.json() as { modelVersion: number }).modelVersion : null };
  };
  /**
   * Polls B until `done` holds; returns the milliseconds it took. Keys and endpoints stay cached
   * 60 s and sessions 10 s (services/scoring/runtime.ts): seeing a change well inside that proves
   * the notification reached B, not that a cache expired. The bounds are that, not a latency
   * target: a busy 2-core machine can take more than a second to deliver a NOTIFY.
   */
  const seenByB = async (secret: string, done: (r: { status: number; version: number | null }) => boolean) => {
    const started = performance.now();
    let last = await predictOnB(secret);
    while (!done(last)) {
      if (performance.now() - started > WITHIN_KEY_TTL_MS) throw new Error(`instance B still answers ${JSON.stringify(last)} after ${WITHIN_KEY_TTL_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, 10));
      last = await predictOnB(secret);
    }
    return performance.now() - started;
  };
  const newKey = async () => (await createApiKey({ ctx: ctxFor(t.db, admin), input: { projectId, name: 'k', scopes: ['score:twin'] } })).secret;

  it('a key revoked through instance A stops working on instance B long before its cache expires', async () => {
    const secret = await newKey();
    expect(await predictOnB(secret)).toEqual({ status: 200, version: 1 });
    const keyId = (await t.query(`select id from api_keys where project_id = $1 order by created_at desc limit 1`, [projectId]))[0]!.id as string;
    // Warm, B answers from memory without an await (the predict route's hot path).
    const runtimeB = scoringRuntime(b.db);
    expect(runtimeB.knownApiKey(secret)?.actor?.keyId).toBe(keyId);
    expect(runtimeB.knownEndpoint('twin')?.version).toBe(1);
    await revokeApiKey({ ctx: ctxFor(t.db, admin), input: { projectId, keyId } });
    const ms = await seenByB(secret, (r) => r.status === 401);
    expect(ms).toBeLessThan(WITHIN_KEY_TTL_MS);
    expect(runtimeB.knownApiKey(secret)).toEqual({ actor: null });
  });

  it('a key revoked through instance A stops working on instance B’s tRPC scoring.predict long before its cache expires', async () => {
    const secret = await newKey();
    const call = async () =>
      (
        await webB.inject({
          method: 'POST',
          url: '/trpc/scoring.predict',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
          payload: { json: { endpoint: 'twin', records: [{ x: 3, kind: 'a' }] } },
        })
      ).statusCode;
    expect(await call()).toBe(200);
    const keyId = (await t.query(`select id from api_keys where project_id = $1 order by created_at desc limit 1`, [projectId]))[0]!.id as string;
    await revokeApiKey({ ctx: ctxFor(t.db, admin), input: { projectId, keyId } });
    const started = performance.now();
    let status = await call();
    while (status !== 401 && performance.now() - started < WITHIN_KEY_TTL_MS) {
      await new Promise((r) => setTimeout(r, 10));
      status = await call();
    }
    expect(status).toBe(401);
  });

  it('a session signed out through instance A is refused by instance B long before its cache expires', async () => {
    const user = await newUser(t.db, 'leaver');
    const { token } = await createSession(t.db, user.userId);
    const me = async () => {
      const res = await webB.inject({ method: 'GET', url: '/trpc/auth.me', headers: { cookie: `sb_session=${token}` } });
      return (res.json() as { result: { data: { json: { email: string } | null } } }).result.data.json?.email ?? null;
    };
    expect(await me()).toBe(user.email);
    await signOut({ ctx: ctxFor(t.db, user), input: { sessionToken: token } });
    const started = performance.now();
    let seen = await me();
    while (seen !== null && performance.now() - started < WITHIN_SESSION_TTL_MS) {
      await new Promise((r) => setTimeout(r, 10));
      seen = await me();
    }
    expect(seen).toBeNull();
  });

  it('a champion changed through instance A is served by instance B long before its cache expires, and so is a pin', async () => {
    const secret = await newKey();
    expect(await predictOnB(secret)).toEqual({ status: 200, version: 1 });
    await setChampion({ ctx: ctxFor(t.db, admin), input: { projectId, name: 'twin-model', version: 2 } });
    expect(await seenByB(secret, (r) => r.version === 2)).toBeLessThan(WITHIN_KEY_TTL_MS);
    await updateEndpoint({ ctx: ctxFor(t.db, admin), input: { projectId, name: 'twin', version: 1 } });
    expect(await seenByB(secret, (r) => r.version === 1)).toBeLessThan(WITHIN_KEY_TTL_MS);
    await updateEndpoint({ ctx: ctxFor(t.db, admin), input: { projectId, name: 'twin', version: null } });
    expect(await seenByB(secret, (r) => r.version === 2)).toBeLessThan(WITHIN_KEY_TTL_MS);
  });

  it('a change made while B’s listener connection is down is seen once it reconnects (caches are dropped on reconnect)', async () => {
    const secret = await newKey();
    expect((await predictOnB(secret)).version).toBe(2);
    await t.query(`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'stagebook-scoring-listener' and datname = current_database()`);
    await setChampion({ ctx: ctxFor(t.db, admin), input: { projectId, name: 'twin-model', version: 1 } });
    const started = performance.now();
    let last = await predictOnB(secret);
    while (last.version !== 1 && performance.now() - started < WITHIN_KEY_TTL_MS) {
      await new Promise((r) => setTimeout(r, 20));
      last = await predictOnB(secret);
    }
    expect(last).toEqual({ status: 200, version: 1 });
  });
});
