import { parse } from 'csv-parse/sync';
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { teamMembers } from '@/db/schema';
import { buildApp } from '@/server/app';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import { revokeApiKey } from '@/server/services/api-keys/revoke-api-key';
import { createSession } from '@/server/services/auth/session';
import type { Actor } from '@/server/services/context';
import { readArtifact } from '@/server/services/models/artifacts';
import { scoringRuntime } from '@/server/services/scoring/runtime';
import { trainModelVersion } from '@/server/services/models/train-model-version';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { creditDataCsv, disposeWithProjectRoles } from '../helpers/datasets';
import { drivers, openTestDatabase, type TestDatabase } from '../helpers/db';
import { uploadCredit } from '../helpers/models';

type User = Extract<Actor, { type: 'user' }>;
type Prediction = { label: string; probabilities: Record<string, number>; modelVersion: number };

/** The first rows of credit_data.csv as scoring records (lowercase names, as the dataset has them). */
function creditRecords(n: number): Record<string, unknown>[] {
  const rows = parse(readFileSync(creditDataCsv, 'utf8'), { columns: (h: string[]) => h.map((c) => c.toLowerCase()), to: n + 1 }) as Record<string, string>[];
  return rows.map((r) => {
    const { status: _status, ...features } = r;
    return Object.fromEntries(
      Object.entries(features).map(([k, v]) => {
        if (v === 'NA' || v === '') return [k, null];
        if (k === 'records') return [k, v === 'yes'];
        return [k, Number.isNaN(Number(v)) ? v : Number(v)];
      }),
    );
  });
}

describe.each(drivers)('real-time scoring on %s', (driver) => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let admin: User;
  let viewerCookie: string;
  let outsiderCookie: string;
  let projectId: string;
  let scoreKey: { id: string; secret: string };
  let readKey: string;
  const records = creditRecords(50);

  beforeAll(async () => {
    t = await openTestDatabase(driver);
    admin = await newUser(t.db, 'admin');
    const team = await callerFor(t.db, admin).teams.create({ name: 'Risk' });
    projectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'Credit' })).id;
    const viewer = await newUser(t.db, 'viewer');
    await t.db.insert(teamMembers).values({ teamId: team.id, userId: viewer.userId, role: 'viewer' });
    viewerCookie = `sb_session=${(await createSession(t.db, viewer.userId)).token}`;
    outsiderCookie = `sb_session=${(await createSession(t.db, (await newUser(t.db, 'outsider')).userId)).token}`;
    await uploadCredit(t.db, admin, projectId);
    const ctx = ctxFor(t.db, admin);
    const spec = { target: 'status', positiveClass: 'bad' };
    await trainModelVersion({ ctx, input: { projectId, modelName: 'credit-risk', dataset: 'credit', spec: { ...spec, algorithm: 'logistic_regression' } } });
    await trainModelVersion({ ctx, input: { projectId, modelName: 'credit-risk', dataset: 'credit', spec: { ...spec, algorithm: 'gradient_boosted_trees', params: { maxIter: 40 } } } });
    await callerFor(t.db, admin).endpoints.create({ projectId, name: `credit-${driver}`, model: 'credit-risk' });
    const key = await createApiKey({ ctx, input: { projectId, name: 'scorer', scopes: [`score:credit-${driver}`] } });
    scoreKey = { id: key.id, secret: key.secret };
    readKey = (await createApiKey({ ctx, input: { projectId, name: 'reader', scopes: ['read'] } })).secret;
    app = await buildApp({ db: t.db, driver: t.driver, role: 'all' });
  });
  afterAll(async () => {
    await app?.close();
    await disposeWithProjectRoles(t);
  });

  const predict = (body: unknown, headers: Record<string, string> = { authorization: `Bearer ${scoreKey.secret}` }, name = `credit-${driver}`) =>
    app.inject({ method: 'POST', url: `/api/v1/endpoints/${name}/predict`, headers: { 'content-type': 'application/json', ...headers }, payload: typeof body === 'string' ? body : JSON.stringify(body) });

  /**
   * [good, bad, good, bad, ...] for `recs` from onnxruntime on the stored artifact of `version`,
   * in a session of the test's own: independent of the server's caches and endpoint configuration.
   */
  const onnxProbabilities = async (v: number, recs: Record<string, unknown>[]): Promise<Float32Array> => {
    const version = await callerFor(t.db, admin).models.versionDetail({ projectId, name: 'credit-risk', version: v });
    const session = await ort.InferenceSession.create(await readArtifact(t.db, version.artifactSha256));
    const feeds: Record<string, ort.Tensor> = {};
    for (const f of version.featureSchema.inputs) {
      const values = recs.map((r) => r[f.name] ?? null);
      feeds[f.input] =
        f.tensor === 'string'
          ? new ort.Tensor('string', values.map((x) => (x === null ? '' : String(x))), [recs.length, 1])
          : new ort.Tensor('float32', Float32Array.from(values.map((x) => (x === null ? NaN : Number(x)))), [recs.length, 1]);
    }
    return (await session.run(feeds)).probabilities!.data as Float32Array;
  };

  it('scores records over REST with a score: key: label, both class probabilities and the version, equal to onnxruntime on the stored artifact', async () => {
    const res = await predict({ records });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json() as { endpoint: string; model: string; modelVersion: number; predictions: Prediction[] };
    expect(body).toMatchObject({ endpoint: `credit-${driver}`, model: 'credit-risk', modelVersion: 1 });
    expect(body.predictions).toHaveLength(records.length);

    const probabilities = await onnxProbabilities(1, records);
    body.predictions.forEach((p, i) => {
      expect(p.modelVersion).toBe(1);
      expect(Object.keys(p.probabilities).sort()).toEqual(['bad', 'good']);
      expect(p.probabilities.bad).toBeCloseTo(probabilities[2 * i + 1]!, 6);
      expect(p.probabilities.good).toBeCloseTo(probabilities[2 * i]!, 6);
      expect(p.label).toBe(p.probabilities.bad! >= 0.5 ? 'bad' : 'good');
    });
  });

  it('gives the same answer over tRPC scoring.predict, for a key and for a signed-in viewer', async () => {
    const rest = (await predict({ records: records.slice(0, 5) })).json() as { predictions: Prediction[] };
    const keyActor = await scoringRuntime(t.db).apiKey(scoreKey.secret);
    const viaKey = await callerFor(t.db, keyActor).scoring.predict({ endpoint: `credit-${driver}`, records: records.slice(0, 5) });
    expect(viaKey.predictions).toEqual(rest.predictions);
    const viaCookie = await predict({ records: records.slice(0, 5) }, { cookie: viewerCookie });
    expect(viaCookie.statusCode, viaCookie.body).toBe(200);
    expect((viaCookie.json() as { predictions: Prediction[] }).predictions).toEqual(rest.predictions);
  });

  it('answers a bad record with a 400 naming the record index and the field, and lists every issue', async () => {
    const bad = [records[0], { ...records[1], income: 'lots' }, (({ age: _a, ...r }) => r)(records[2]!), 'not a record'];
    const res = await predict({ records: bad });
    expect(res.statusCode).toBe(400);
    const body = res.json() as { error: { code: string; message: string; field: string; issues: { path: string; message: string }[] } };
    expect(body.error).toMatchObject({ code: 'invalid_input', field: 'records[1].income' });
    expect(body.error.message).toMatch(/^records\[1\]\.income: expected a number or null, got a string \("lots"\) \(and 2 more issues\)$/);
    expect(body.error.issues).toEqual([
      { path: 'records[1].income', message: 'expected a number or null, got a string ("lots")' },
      { path: 'records[2].age', message: 'missing feature' },
      { path: 'records[3]', message: 'expected an object of features, got a string ("not a record")' },
    ]);
    // An unseen category is the model's business (one-hot: all zeros), not an error.
    expect((await predict({ records: [{ ...records[0], job: 'astronaut' }] })).statusCode).toBe(200);
    for (const [payload, field] of [
      ['{"records": [', /JSON/],
      [[1, 2], /body/],
      [{}, /records/],
      [{ records: 'many' }, /records/],
      [{ records: [] }, /records/],
    ] as const) {
      const r = await predict(payload);
      expect(r.statusCode, `${JSON.stringify(payload)}: ${r.body}`).toBe(400);
      expect(r.body).toMatch(field);
    }
  });

  it('refuses an oversized body and too many records with 413, a wrong content type with 415', async () => {
    const huge = await predict({ records: [{ ...records[0], job: 'x'.repeat(2 * 1024 * 1024) }] });
    expect(huge.statusCode).toBe(413);
    const many = await predict({ records: Array.from({ length: 10_001 }, () => ({})) });
    expect(many.statusCode, many.body).toBe(413);
    expect(many.body).toMatch(/at most 10000 records/);
    const text = await predict('hello', { authorization: `Bearer ${scoreKey.secret}`, 'content-type': 'text/plain' });
    expect(text.statusCode).toBe(415);
  });

  it('lets only the right callers score: 401 without credentials, 403 for a key without the scope or an outsider, 404 for no such endpoint', async () => {
    expect((await predict({ records }, {})).statusCode).toBe(401);
    expect((await predict({ records }, { authorization: 'Bearer sbk_unknown' })).statusCode).toBe(401);
    const wrongScope = await predict({ records }, { authorization: `Bearer ${readKey}` });
    expect(wrongScope.statusCode).toBe(403);
    expect(wrongScope.body).toMatch(`score:credit-${driver}`);
    expect((await predict({ records }, { cookie: outsiderCookie })).statusCode).toBe(403);
    expect((await predict({ records }, { authorization: `Bearer ${scoreKey.secret}` }, 'no-such-endpoint')).statusCode).toBe(404);
    expect((await predict({ records }, { cookie: viewerCookie }, 'no-such-endpoint')).statusCode).toBe(404);
  });

  it('writes no database row per request: the key’s last use is recorded in a batch', async () => {
    await scoringRuntime(t.db).lastUsed.flush();
    await t.query('update api_keys set last_used_at = null where id = $1', [scoreKey.id]);
    for (let i = 0; i < 5; i++) expect((await predict({ records: records.slice(0, 1) })).statusCode).toBe(200);
    expect((await t.query('select last_used_at from api_keys where id = $1', [scoreKey.id]))[0]!.last_used_at).toBeNull();
    await scoringRuntime(t.db).lastUsed.flush();
    expect((await t.query('select last_used_at from api_keys where id = $1', [scoreKey.id]))[0]!.last_used_at).not.toBeNull();
    // The API keys page says where: the route and the client's address (app.inject's is 127.0.0.1).
    const listed = await callerFor(t.db, admin).apiKeys.list({ projectId });
    expect(listed.find((k) => k.id === scoreKey.id)?.lastUsedWhere).toBe(`POST /api/v1/endpoints/credit-${driver}/predict from 127.0.0.1`);
  });

  it('serves a new champion from the next request on, and pins a version on request', async () => {
    const before = (await predict({ records: records.slice(0, 3) })).json() as { modelVersion: number };
    expect(before.modelVersion).toBe(1);
    await callerFor(t.db, admin).models.setChampion({ projectId, name: 'credit-risk', version: 2 });
    const after = (await predict({ records: records.slice(0, 3) })).json() as { modelVersion: number; predictions: Prediction[] };
    expect(after.modelVersion).toBe(2);
    expect(after.predictions.every((p) => p.modelVersion === 2)).toBe(true);
    await callerFor(t.db, admin).endpoints.update({ projectId, name: `credit-${driver}`, version: 1 });
    expect(((await predict({ records: records.slice(0, 3) })).json() as { modelVersion: number }).modelVersion).toBe(1);
    await callerFor(t.db, admin).endpoints.update({ projectId, name: `credit-${driver}`, version: null });
    expect(((await predict({ records: records.slice(0, 3) })).json() as { modelVersion: number }).modelVersion).toBe(2);
  });

  it('switches versions atomically under load: no request fails, none mixes versions', async () => {
    const caller = callerFor(t.db, admin);
    const inFlight: Promise<{ statusCode: number; body: string }>[] = [];
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 25; i++) inFlight.push(predict({ records: records.slice(0, 4) }));
      // Let the round's requests get going, so the switch lands among them.
      await new Promise((r) => setTimeout(r, 5));
      await caller.models.setChampion({ projectId, name: 'credit-risk', version: round % 2 === 0 ? 1 : 2 });
    }
    const results = await Promise.all(inFlight);
    expect(results.filter((r) => r.statusCode !== 200).map((r) => r.body)).toEqual([]);
    // The version a response names and the numbers it carries come from one config, so comparing
    // them with each other proves nothing: each response's probabilities are checked against
    // onnxruntime on the artifact of the version it names.
    const expected = new Map([
      [1, await onnxProbabilities(1, records.slice(0, 4))],
      [2, await onnxProbabilities(2, records.slice(0, 4))],
    ]);
    expect(Math.abs(expected.get(1)![1]! - expected.get(2)![1]!)).toBeGreaterThan(1e-3);
    const versions = new Set<number>();
    for (const r of results) {
      const body = JSON.parse(r.body) as { modelVersion: number; predictions: Prediction[] };
      const want = expected.get(body.modelVersion)!;
      body.predictions.forEach((p, i) => {
        expect(p.modelVersion).toBe(body.modelVersion);
        expect(p.probabilities.bad).toBeCloseTo(want[2 * i + 1]!, 6);
      });
      versions.add(body.modelVersion);
    }
    expect(versions).toEqual(new Set([1, 2]));
  });

  it('answers tRPC scoring.predict over HTTP with a cached key, and stops that key at the next call once revoked', async () => {
    const key = await createApiKey({ ctx: ctxFor(t.db, admin), input: { projectId, name: 'trpc', scopes: [`score:credit-${driver}`] } });
    const call = () =>
      app.inject({
        method: 'POST',
        url: '/trpc/scoring.predict',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key.secret}` },
        payload: JSON.stringify({ json: { endpoint: `credit-${driver}`, records: records.slice(0, 2) } }),
      });
    const ok = await call();
    expect(ok.statusCode, ok.body).toBe(200);
    const data = (ok.json() as { result: { data: { json: { predictions: Prediction[] } } } }).result.data.json;
    expect(data.predictions).toHaveLength(2);
    expect((await call()).statusCode).toBe(200);
    await revokeApiKey({ ctx: ctxFor(t.db, admin), input: { projectId, keyId: key.id } });
    const refused = await call();
    expect(refused.statusCode).toBe(401);
    expect((refused.json() as { error: { json: { data: { code: string } } } }).error.json.data.code).toBe('UNAUTHORIZED');
  });

  it('answers a batched tRPC call like a single one (the batch goes through tRPC’s own adapter)', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/trpc/scoring.predict?batch=1',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${scoreKey.secret}` },
      payload: JSON.stringify({ 0: { json: { endpoint: `credit-${driver}`, records: records.slice(0, 1) } } }),
    });
    expect(res.statusCode, res.body).toBe(200);
    expect((res.json() as { result: { data: { json: { predictions: Prediction[] } } } }[])[0]!.result.data.json.predictions).toHaveLength(1);
  });

  it('stops a revoked key at the next request, and a deleted endpoint answers 404', async () => {
    expect((await predict({ records: records.slice(0, 1) })).statusCode).toBe(200);
    await revokeApiKey({ ctx: ctxFor(t.db, admin), input: { projectId, keyId: scoreKey.id } });
    expect((await predict({ records: records.slice(0, 1) })).statusCode).toBe(401);
    expect((await predict({ records: records.slice(0, 1) }, { cookie: viewerCookie })).statusCode).toBe(200);
    await callerFor(t.db, admin).endpoints.delete({ projectId, name: `credit-${driver}` });
    expect((await predict({ records: records.slice(0, 1) }, { cookie: viewerCookie })).statusCode).toBe(404);
  });
});
