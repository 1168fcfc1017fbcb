import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '@/server/app';
import { seededRandom } from '@/server/ml/random';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import type { Actor } from '@/server/services/context';
import { uploadDataset } from '@/server/services/datasets/upload-dataset';
import { trainModelVersion } from '@/server/services/models/train-model-version';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { drivers, openTestDatabase, type TestDatabase } from '../helpers/db';

type Prediction = { label: string; probabilities: Record<string, number> };

/** Churn data with the headers and yes/no words a spreadsheet export has. */
function churnCsv(n = 400): string {
  const rng = seededRandom(7);
  const lines = ['Customer Age,Has Partner,Plan,Churned'];
  for (let i = 0; i < n; i++) {
    const age = 18 + Math.floor(rng.next() * 60);
    const partner = rng.next() < 0.5;
    const plan = ['basic', 'pro'][Math.floor(rng.next() * 2)]!;
    const z = -1 + 0.05 * (45 - age) + (partner ? -1 : 0.5) + (plan === 'basic' ? 0.7 : 0);
    lines.push(`${age},${partner ? 'Yes' : 'No'},${plan},${rng.next() < 1 / (1 + Math.exp(-z)) ? 'Yes' : 'No'}`);
  }
  return lines.join('\n') + '\n';
}

describe.each(drivers)('labels and names as the user wrote them on %s', (driver) => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let admin: Extract<Actor, { type: 'user' }>;
  let projectId: string;
  let key: string;

  beforeAll(async () => {
    t = await openTestDatabase(driver);
    admin = await newUser(t.db, 'admin');
    const team = await callerFor(t.db, admin).teams.create({ name: 'Churn' });
    projectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'Churn' })).id;
    const ctx = ctxFor(t.db, admin);
    await uploadDataset({ ctx, input: { projectId, name: 'churn', environment: 'design' }, csv: Readable.from([churnCsv()]) });
    // positiveClass in another spelling than the file's: the classes keep the file's words.
    await trainModelVersion({ ctx, input: { projectId, modelName: 'churn', dataset: 'churn', spec: { algorithm: 'logistic_regression', target: 'churned', positiveClass: 'yes' } } });
    await callerFor(t.db, admin).endpoints.create({ projectId, name: `churn-${driver}`, model: 'churn' });
    key = (await createApiKey({ ctx, input: { projectId, name: 'scorer', scopes: [`score:churn-${driver}`] } })).secret;
    app = await buildApp({ db: t.db, driver: t.driver, role: 'all' });
  });
  afterAll(async () => {
    await app?.close();
    await disposeWithProjectRoles(t);
  });

  const predict = async (records: unknown[]) => {
    const res = await app.inject({
      method: 'POST',
      url: `/api/v1/endpoints/churn-${driver}/predict`,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      payload: JSON.stringify({ records }),
    });
    return { status: res.statusCode, body: res.json() as { predictions: Prediction[]; error?: { message: string; field: string } } };
  };

  it('keeps the dataset columns\' headers and yes/no words, and the version\'s classes are the file\'s words', async () => {
    const dataset = await callerFor(t.db, admin).datasets.get({ projectId, name: 'churn' });
    expect(dataset.columns).toEqual([
      { name: 'customer_age', header: 'Customer Age', type: 'integer', nullable: false },
      { name: 'has_partner', header: 'Has Partner', type: 'boolean', nullable: false, booleanWords: ['Yes', 'No'] },
      { name: 'plan', header: 'Plan', type: 'text', nullable: false },
      { name: 'churned', header: 'Churned', type: 'boolean', nullable: false, booleanWords: ['Yes', 'No'] },
    ]);
    const version = await callerFor(t.db, admin).models.versionDetail({ projectId, name: 'churn', version: 1 });
    expect(version.featureSchema).toMatchObject({ classes: ['No', 'Yes'], positiveIndex: 1 });
    const inputs = (version.featureSchema as { inputs: { name: string; header?: string }[] }).inputs;
    expect(inputs.map((i) => [i.name, i.header])).toEqual([
      ['customer_age', 'Customer Age'],
      ['has_partner', 'Has Partner'],
      ['plan', 'Plan'],
    ]);
  });

  it('answers "Yes"/"No", and reads the CSV\'s names and every boolean spelling the upload accepts', async () => {
    const asWritten = await predict([
      { 'Customer Age': 25, 'Has Partner': 'No', Plan: 'basic' },
      { 'Customer Age': 70, 'Has Partner': 'yes', Plan: 'pro' },
    ]);
    expect(asWritten.status).toBe(200);
    const stored = await predict([
      { customer_age: 25, has_partner: false, plan: 'basic' },
      { customer_age: 70, has_partner: 1, plan: 'pro' },
    ]);
    const other = await predict([
      { customer_age: 25, has_partner: 'FALSE', plan: 'basic' },
      { customer_age: 70, has_partner: 't', plan: 'pro' },
    ]);
    for (const r of [asWritten, stored, other]) expect(r.status).toBe(200);
    expect(stored.body.predictions).toEqual(asWritten.body.predictions);
    expect(other.body.predictions).toEqual(asWritten.body.predictions);
    const [young, old] = asWritten.body.predictions;
    expect(Object.keys(young!.probabilities).sort()).toEqual(['No', 'Yes']);
    // Young, no partner, basic plan: the data's riskiest; old, partner, pro: the safest.
    expect(young!.label).toBe('Yes');
    expect(old!.label).toBe('No');
    for (const p of asWritten.body.predictions) {
      expect(p.probabilities.Yes! + p.probabilities.No!).toBeCloseTo(1, 6);
      expect(p.label).toBe(p.probabilities.Yes! >= 0.5 ? 'Yes' : 'No');
    }
  });

  it('says what a boolean feature accepts, and names a missing feature by its stored name', async () => {
    const bad = await predict([{ customer_age: 30, has_partner: 'maybe', plan: 'pro' }]);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ field: 'records[0].has_partner', message: 'records[0].has_partner: expected true or false (or yes/no, 1/0) or null, got a string ("maybe")' });
    const missing = await predict([{ 'customer age': 30, has_partner: 'no', plan: 'pro' }]);
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatchObject({ field: 'records[0].customer_age', message: 'records[0].customer_age: missing feature' });
  });
});
