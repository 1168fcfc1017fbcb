import { parse } from 'csv-parse/sync';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { desc, eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents } from '@/db/schema';
import { buildApp } from '@/server/app';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import type { Actor } from '@/server/services/context';
import { uploadDataset } from '@/server/services/datasets/upload-dataset';
import { trainModelVersion } from '@/server/services/models/train-model-version';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { creditDataCsv, disposeWithProjectRoles } from '../helpers/datasets';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { rankAuc, uploadCredit } from '../helpers/models';

describe('evaluating a model version on a dataset', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let admin: Extract<Actor, { type: 'user' }>;
  let projectId: string;
  let runKey: string;
  let scoreKey: string;

  beforeAll(async () => {
    t = await openTestDatabase('postgres');
    admin = await newUser(t.db, 'admin');
    const team = await callerFor(t.db, admin).teams.create({ name: 'Risk' });
    projectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'Credit' })).id;
    await uploadCredit(t.db, admin, projectId);
    const ctx = ctxFor(t.db, admin);
    await trainModelVersion({ ctx, input: { projectId, modelName: 'risk', dataset: 'credit', spec: { target: 'status', positiveClass: 'bad', algorithm: 'logistic_regression' } } });
    await callerFor(t.db, admin).endpoints.create({ projectId, name: 'risk', model: 'risk' });
    runKey = (await createApiKey({ ctx, input: { projectId, name: 'ci', scopes: ['run'] } })).secret;
    scoreKey = (await createApiKey({ ctx, input: { projectId, name: 'scorer', scopes: ['score:risk'] } })).secret;
    app = await buildApp({ db: t.db, driver: t.driver, role: 'all' });
  });
  afterAll(async () => {
    await app?.close();
    await disposeWithProjectRoles(t);
  });

  it('scores every labelled row as the endpoint does: AUC, confusion matrix, stored, listed and audited', async () => {
    const res = await app.inject({
      method: 'POST',
      url: `/api/v1/projects/${projectId}/models/risk/versions/1/evaluations`,
      headers: { authorization: `Bearer ${runKey}`, 'content-type': 'application/json' },
      payload: { dataset: 'credit' },
    });
    expect(res.statusCode).toBe(201);
    const stored = res.json() as { id: string; version: number; dataset: string; rows: number; metrics: { rows: number; positives: number; auc: { auc: number; lower: number; upper: number }; atThreshold: Record<string, number>; roc: unknown[]; calibration: unknown[] } };

    // The same rows scored through the endpoint, the labels read from the file itself.
    const file = parse(readFileSync(creditDataCsv, 'utf8'), { columns: (h: string[]) => h.map((c) => c.toLowerCase()) }) as Record<string, string>[];
    const labelled = file.filter((r) => r.status === 'good' || r.status === 'bad');
    const records = labelled.map(({ status: _s, ...f }) => Object.fromEntries(Object.entries(f).map(([k, v]) => [k, v === 'NA' || v === '' ? null : Number.isNaN(Number(v)) ? v : Number(v)])));
    const p: number[] = [];
    for (let i = 0; i < records.length; i += 5000) {
      const scored = await app.inject({ method: 'POST', url: '/api/v1/endpoints/risk/predict', headers: { authorization: `Bearer ${scoreKey}` }, payload: { records: records.slice(i, i + 5000) } });
      expect(scored.statusCode).toBe(200);
      for (const s of (scored.json() as { predictions: { probabilities: { bad: number } }[] }).predictions) p.push(s.probabilities.bad);
    }
    const y = labelled.map((r) => (r.status === 'bad' ? 1 : 0));
    expect(stored).toMatchObject({ version: 1, dataset: 'credit', rows: labelled.length });
    expect(stored.metrics.positives).toBe(y.filter(Boolean).length);
    expect(stored.metrics.auc.auc).toBeCloseTo(rankAuc(y, p), 9);
    expect(stored.metrics.auc.lower).toBeLessThan(stored.metrics.auc.auc);
    expect(stored.metrics.auc.upper).toBeGreaterThan(stored.metrics.auc.auc);
    const tp = y.filter((v, i) => v === 1 && p[i]! >= 0.5).length;
    const fp = y.filter((v, i) => v === 0 && p[i]! >= 0.5).length;
    expect(stored.metrics.atThreshold).toMatchObject({ threshold: 0.5, truePositives: tp, falsePositives: fp, falseNegatives: y.filter(Boolean).length - tp });
    expect(stored.metrics.roc.length).toBeGreaterThan(10);
    expect(stored.metrics.calibration.length).toBe(10);

    const listed = await callerFor(t.db, admin).models.evaluations({ projectId, name: 'risk' });
    expect(listed.map((e) => e.id)).toEqual([stored.id]);
    const [event] = await t.db.select().from(auditEvents).where(eq(auditEvents.action, 'model.evaluate')).orderBy(desc(auditEvents.seq)).limit(1);
    expect(event).toMatchObject({ actorLabel: 'key:ci', details: { model: 'risk', version: 1, dataset: 'credit', rows: labelled.length } });
  });

  it('says what is wrong: an unknown version, dataset or a dataset without the model\'s columns', async () => {
    const caller = callerFor(t.db, admin);
    await expect(caller.models.evaluate({ projectId, name: 'risk', version: 9, dataset: 'credit' })).rejects.toThrow(/version 9/);
    await expect(caller.models.evaluate({ projectId, name: 'risk', version: 1, dataset: 'nope' })).rejects.toThrow(/not found/);
    await uploadDataset({ ctx: ctxFor(t.db, admin), input: { projectId, name: 'other', environment: 'design' }, csv: Readable.from(['status,age\nbad,30\ngood,40\n']) });
    const res = await app.inject({
      method: 'POST',
      url: `/api/v1/projects/${projectId}/models/risk/versions/1/evaluations`,
      headers: { authorization: `Bearer ${runKey}`, 'content-type': 'application/json' },
      payload: { dataset: 'other' },
    });
    expect(res.statusCode).toBe(400);
    expect((res.json() as { error: { message: string; field: string } }).error).toMatchObject({ field: 'dataset', message: expect.stringMatching(/^dataset "other" has no column "seniority", "time", .*"job", which version 1 needs$/) });
  });
});
