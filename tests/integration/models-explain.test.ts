import { parse } from 'csv-parse/sync';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '@/server/app';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import type { Actor } from '@/server/services/context';
import { trainModelVersion } from '@/server/services/models/train-model-version';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { creditDataCsv, disposeWithProjectRoles } from '../helpers/datasets';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { tinyEndpoint, uploadCredit } from '../helpers/models';

type Explanation = { baseline: number; margin: number; contributions: { feature: string; contribution: number }[]; otherFeatures: number };
type Prediction = { label: string; probabilities: Record<string, number>; explanation?: Explanation };

/** Rows of credit_data.csv as a client sends them: the file's own headers and words ("yes"/"no"). */
function creditRecords(n: number): Record<string, unknown>[] {
  const rows = parse(readFileSync(creditDataCsv, 'utf8'), { columns: true, to: n + 1 }) as Record<string, string>[];
  return rows.map(({ Status: _status, ...features }) =>
    Object.fromEntries(Object.entries(features).map(([k, v]) => [k, v === 'NA' || v === '' ? null : Number.isNaN(Number(v)) ? v : Number(v)])),
  );
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

// Explanations read no storage of their own (the artifact, as scoring does): one driver is enough.
describe.each(['postgres'] as const)('explanations on predict (%s)', (driver) => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let admin: Extract<Actor, { type: 'user' }>;
  let key: string;
  const records = creditRecords(40);

  beforeAll(async () => {
    t = await openTestDatabase(driver);
    admin = await newUser(t.db, 'admin');
    const team = await callerFor(t.db, admin).teams.create({ name: 'Risk' });
    const projectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'Credit' })).id;
    await uploadCredit(t.db, admin, projectId);
    const ctx = ctxFor(t.db, admin);
    const spec = { target: 'status', positiveClass: 'bad' };
    await trainModelVersion({ ctx, input: { projectId, modelName: 'lr', dataset: 'credit', spec: { ...spec, algorithm: 'logistic_regression' } } });
    await trainModelVersion({ ctx, input: { projectId, modelName: 'gbt', dataset: 'credit', spec: { ...spec, algorithm: 'gradient_boosted_trees', params: { maxIter: 30 } } } });
    for (const model of ['lr', 'gbt']) await callerFor(t.db, admin).endpoints.create({ projectId, name: `${model}-${driver}`, model });
    await tinyEndpoint(t.db, admin, projectId, `imported-${driver}`);
    key = (await createApiKey({ ctx, input: { projectId, name: 'scorer', scopes: [`score:lr-${driver}`, `score:gbt-${driver}`, `score:imported-${driver}`] } })).secret;
    app = await buildApp({ db: t.db, driver: t.driver, role: 'all' });
  });
  afterAll(async () => {
    await app?.close();
    await disposeWithProjectRoles(t);
  });

  const predict = async (endpoint: string, body: object) => {
    const res = await app.inject({
      method: 'POST',
      url: `/api/v1/endpoints/${endpoint}-${driver}/predict`,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      payload: JSON.stringify(body),
    });
    return { status: res.statusCode, body: res.json() as { predictions: Prediction[]; error?: { message: string; field: string } } };
  };

  for (const model of ['lr', 'gbt']) {
    it(`${model}: contributions sum to the served margin, and the answer is otherwise the plain one`, async () => {
      const plain = await predict(model, { records });
      const explained = await predict(model, { records, explain: true });
      expect(plain.status).toBe(200);
      expect(explained.status).toBe(200);
      expect(plain.body.predictions[0]!.explanation).toBeUndefined();
      explained.body.predictions.forEach((p, i) => {
        const { explanation: e, ...served } = p;
        expect(served).toEqual(plain.body.predictions[i]);
        const sum = e!.baseline + e!.contributions.reduce((a, c) => a + c.contribution, 0) + e!.otherFeatures;
        expect(Math.abs(sum - e!.margin)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(e!.margin)));
        // The served probability is onnxruntime's float32: the margin gives it to float rounding.
        expect(Math.abs(sigmoid(e!.margin) - p.probabilities.bad!)).toBeLessThan(1e-6);
        expect(e!.contributions.length).toBe(10);
        const sizes = e!.contributions.map((c) => Math.abs(c.contribution));
        expect(sizes).toEqual([...sizes].sort((a, b) => b - a));
        expect(new Set(e!.contributions.map((c) => c.feature)).size).toBe(10);
      });
    });
  }

  it('tRPC scoring.predict explains the same way', async () => {
    const caller = callerFor(t.db, admin);
    const rest = await predict('gbt', { records: records.slice(0, 3), explain: true });
    const trpc = await caller.scoring.predict({ endpoint: `gbt-${driver}`, records: records.slice(0, 3), explain: true });
    expect(trpc.predictions).toEqual(rest.body.predictions);
  });

  it('an imported ONNX model answers 400: explanations need a trained version', async () => {
    const res = await predict('imported', { records: [{ x: 1, kind: 'a' }], explain: true });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ field: 'explain' });
    expect(res.body.error!.message).toMatch(/^explanations need a version trained in Stagebook: version 1 of model "imported-.*-model" is an imported ONNX file/);
    expect((await predict('imported', { records: [{ x: 1, kind: 'a' }] })).status).toBe(200);
    const bad = await predict('lr', { records, explain: 'yes' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ field: 'explain', message: 'explain must be true or false' });
  });
});
