import { createHash } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '@/server/app';
import { loadEnv } from '@/server/env';
import type { InputColumn } from '@/server/scoring/records';
import { SESSION_OPTIONS } from '@/server/scoring/session-cache';
import { ScoringPool } from '@/server/scoring/worker-pool';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import type { Actor } from '@/server/services/context';
import { readArtifact } from '@/server/services/models/artifacts';
import { POOL_MIN_RECORDS, scoringRuntime, scoringThreads } from '@/server/services/scoring/runtime';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { tinyEndpoint, tinyOnnxModel } from '../helpers/models';

type Prediction = { label: string; probabilities: Record<string, number>; modelVersion: number };

/**
 * Predict requests over POOL_MIN_RECORDS records run in the scoring pool's worker threads
 * (server/scoring/worker-pool.ts); smaller ones on the main thread. Both must answer the same as
 * onnxruntime on the stored artifact, and a bad record in a large request is named as before.
 * (What the pool is for, one-record latency while large requests run, is measured by
 * `npm run bench scoring-pool`, never timed in a test.)
 */
describe('scoring pool', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let admin: Extract<Actor, { type: 'user' }>;
  let projectId: string;
  let key: string;
  const name = 'pooled';

  beforeAll(async () => {
    t = await openTestDatabase('postgres');
    admin = await newUser(t.db, 'admin');
    const team = await callerFor(t.db, admin).teams.create({ name: 'Ops' });
    projectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'Serving' })).id;
    await tinyEndpoint(t.db, admin, projectId, name);
    key = (await createApiKey({ ctx: ctxFor(t.db, admin), input: { projectId, name: 'scorer', scopes: [`score:${name}`] } })).secret;
    app = await buildApp({ db: t.db, driver: t.driver, role: 'all' });
  });
  afterAll(async () => {
    await app?.close();
    await disposeWithProjectRoles(t);
  });

  const record = (i: number) => ({ x: ((i * 7) % 23) / 2 - 3, kind: i % 3 === 0 ? 'a' : i % 3 === 1 ? 'b' : null });
  const predict = (records: unknown[]) =>
    app.inject({ method: 'POST', url: `/api/v1/endpoints/${name}/predict`, headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, payload: JSON.stringify({ records }) });

  /** The positive class's probability of each record, from a session of the test's own on the stored artifact. */
  const expected = async (records: ReturnType<typeof record>[]) => {
    const version = await callerFor(t.db, admin).models.versionDetail({ projectId, name: `${name}-model`, version: 1 });
    const session = await ort.InferenceSession.create(await readArtifact(t.db, version.artifactSha256));
    const feeds: Record<string, ort.Tensor> = {};
    for (const f of version.featureSchema.inputs) {
      const values = records.map((r) => (r as Record<string, unknown>)[f.name] ?? null);
      feeds[f.input] =
        f.tensor === 'string'
          ? new ort.Tensor('string', values.map((v) => (v === null ? '' : String(v))), [records.length, 1])
          : new ort.Tensor('float32', Float32Array.from(values, (v) => (v === null ? NaN : Number(v))), [records.length, 1]);
    }
    const p = (await session.run(feeds))[version.featureSchema.outputs.probabilities]!.data as Float32Array;
    const pos = version.featureSchema.positiveIndex;
    const { classes } = version.featureSchema;
    return { pos: classes[pos]!, neg: classes[1 - pos]!, positive: Array.from(records, (_, i) => p[2 * i + pos]!) };
  };

  it('has threads on this machine unless STAGEBOOK_SCORING_THREADS=0', () => {
    expect(scoringThreads({})).toBeGreaterThanOrEqual(1);
    expect(scoringThreads({ STAGEBOOK_SCORING_THREADS: 0 })).toBe(0);
    expect(scoringThreads({ STAGEBOOK_SCORING_THREADS: 3 })).toBe(3);
    expect(() => loadEnv({ STAGEBOOK_SCORING_THREADS: 'many' })).toThrow(/STAGEBOOK_SCORING_THREADS/);
    expect(loadEnv({ STAGEBOOK_SCORING_THREADS: '2' }).STAGEBOOK_SCORING_THREADS).toBe(2);
  });

  it('scores small requests on the main thread and large ones in a thread, both as onnxruntime does', async () => {
    const pool = scoringRuntime(t.db).pool;
    const small = Array.from({ length: 20 }, (_, i) => record(i));
    const res = await predict(small);
    expect(res.statusCode, res.body).toBe(200);
    expect(pool.started).toBe(0);

    const large = Array.from({ length: POOL_MIN_RECORDS + 500 }, (_, i) => record(i));
    const [a, b] = await Promise.all([predict(large), predict(large.slice(0, POOL_MIN_RECORDS))]);
    expect(pool.started).toBeGreaterThanOrEqual(1);
    const want = await expected(large);
    const { pos, neg } = want;
    for (const [r, n] of [
      [res, small.length],
      [a, large.length],
      [b, POOL_MIN_RECORDS],
    ] as const) {
      expect(r.statusCode, r.body.slice(0, 300)).toBe(200);
      const got = (r.json() as { predictions: Prediction[] }).predictions;
      expect(got).toHaveLength(n);
      got.forEach((p, i) => {
        expect(p.probabilities[pos]).toBeCloseTo(want.positive[i]!, 6);
        expect(p.label).toBe(want.positive[i]! >= 0.5 ? pos : neg);
      });
    }
  });

  it('forgets a model that failed to load in a thread, and starts threads again after close', async () => {
    const bytes = await tinyOnnxModel();
    const sha = createHash('sha256').update(bytes).digest('hex');
    const pool = new ScoringPool({ threads: 1, minRecords: 1, sessionOptions: { ...SESSION_OPTIONS } });
    const columns = (): InputColumn[] => [
      { input: 'x', type: 'float32', data: Float32Array.from([0.5, 9]), dims: [2, 1] },
      { input: 'kind', type: 'string', data: ['a', 'b'], dims: [2, 1] },
    ];
    try {
      await expect(pool.run(sha, async () => Uint8Array.from([1, 2, 3]), columns(), ['probabilities'])).rejects.toThrow(/scoring thread/);
      const want = (await (await ort.InferenceSession.create(bytes)).run(Object.fromEntries(columns().map((c) => [c.input, new ort.Tensor(c.type, c.data, c.dims)])))).probabilities!.data;
      const first = await pool.run(sha, async () => bytes, columns(), ['probabilities']);
      expect(Array.from(first.probabilities!.data as Float32Array)).toEqual(Array.from(want as Float32Array));
      await pool.close();
      expect(pool.started).toBe(0);
      const again = await pool.run(sha, async () => bytes, columns(), ['probabilities']);
      expect(Array.from(again.probabilities!.data as Float32Array)).toEqual(Array.from(want as Float32Array));
      expect(pool.started).toBe(1);
    } finally {
      await pool.close();
    }
  });

  it('names the bad record of a large request, as for a small one', async () => {
    const large: unknown[] = Array.from({ length: POOL_MIN_RECORDS * 2 }, (_, i) => record(i));
    large[1234] = { x: 'lots', kind: 'a' };
    const res = await predict(large);
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('records[1234].x');
  });
});
