import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { teamMembers } from '@/db/schema';
import { buildApp } from '@/server/app';
import { seededRandom } from '@/server/ml/random';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import type { Actor } from '@/server/services/context';
import { uploadDataset } from '@/server/services/datasets/upload-dataset';
import { createEndpoint } from '@/server/services/endpoints/create-endpoint';
import { trainModelVersion } from '@/server/services/models/train-model-version';
import { PredictionLogRecorder } from '@/server/services/scoring/prediction-log-recorder';
import { scoringRuntime } from '@/server/services/scoring/runtime';
import { callerFor, ctxFor, newUser, trpcCode } from '../helpers/api';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { drivers, openTestDatabase, type TestDatabase } from '../helpers/db';
import { tinyEndpoint } from '../helpers/models';

type User = Extract<Actor, { type: 'user' }>;

/** x in [0, 10), kind a or b; y = yes mostly when x is large. Deterministic. */
function rows(n: number, seed: number, shift = 0): { id: number; x: number; kind: string; y: string }[] {
  const rng = seededRandom(seed);
  const rand = () => rng.next();
  return Array.from({ length: n }, (_, i) => {
    const x = rand() * 10;
    const kind = rand() < 0.3 ? 'b' : 'a';
    return { id: seed * 100_000 + i, x: x + shift, kind: shift ? 'b' : kind, y: x + (kind === 'b' ? 2 : 0) + rand() * 4 > 8 ? 'bad' : 'good' };
  });
}
const csvOf = (rs: { id: number; x: number; kind: string; y: string }[]) => `id,x,kind,y\n${rs.map((r) => `${r.id},${r.x},${r.kind},${r.y}`).join('\n')}\n`;

describe.each(drivers)('prediction log and drift on %s', (driver) => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let admin: User;
  let viewer: User;
  let projectId: string;
  let scoreKey: string;
  const same = `same-${driver}`;
  const shifted = `shifted-${driver}`;

  beforeAll(async () => {
    t = await openTestDatabase(driver);
    admin = await newUser(t.db, 'admin');
    const team = await callerFor(t.db, admin).teams.create({ name: 'Drift' });
    projectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'Serving' })).id;
    viewer = await newUser(t.db, 'viewer');
    await t.db.insert(teamMembers).values({ teamId: team.id, userId: viewer.userId, role: 'viewer' });
    const ctx = ctxFor(t.db, admin);
    await uploadDataset({ ctx, input: { projectId, name: 'training', environment: 'design' }, csv: Readable.from([csvOf(rows(2000, 1))]) });
    await trainModelVersion({ ctx, input: { projectId, modelName: 'risk', dataset: 'training', spec: { algorithm: 'logistic_regression', target: 'y', positiveClass: 'bad', features: ['x', 'kind'] } } });
    for (const name of [same, shifted]) await createEndpoint({ ctx, input: { projectId, name, model: 'risk', description: '' } });
    scoreKey = (await createApiKey({ ctx, input: { projectId, name: 'scorer', scopes: [`score:${same}`, `score:${shifted}`] } })).secret;
    app = await buildApp({ db: t.db, driver: t.driver, role: 'all' });
  });
  afterAll(async () => {
    await app?.close();
    await disposeWithProjectRoles(t);
  });

  const predict = (endpoint: string, records: unknown[], on = app) =>
    on.inject({ method: 'POST', url: `/api/v1/endpoints/${endpoint}/predict`, headers: { 'content-type': 'application/json', authorization: `Bearer ${scoreKey}` }, payload: JSON.stringify({ records }) });
  const logged = async (endpoint: string) =>
    Number((await t.query('select count(*)::int as n from prediction_log p join endpoints e on e.id = p.endpoint_id where e.name = $1', [endpoint]))[0]!.n);

  it('stores a reference profile with a trained version', async () => {
    const [v] = await t.query("select reference from model_versions mv join models m on m.id = mv.model_id where m.name = 'risk'");
    const ref = v!.reference as { features: { name: string; kind: string }[]; prediction: { proportions: number[] } | null; rows: number };
    expect(ref.features.map((f) => [f.name, f.kind])).toEqual([['x', 'numeric'], ['kind', 'categorical']]);
    expect(ref.prediction?.proportions).toHaveLength(11);
    expect(ref.rows).toBeGreaterThan(1000);
  });

  it('logs each answered record of REST and tRPC predicts off the request path, and writes them on flush', async () => {
    const records = rows(600, 2).map(({ y: _y, ...r }) => r);
    for (let i = 0; i < records.length; i += 50) expect((await predict(same, records.slice(i, i + 50))).statusCode).toBe(200);
    // A refused request logs nothing.
    expect((await predict(same, [{ x: 'lots', kind: 'a' }])).statusCode).toBe(400);
    const keyActor = await scoringRuntime(t.db).apiKey(scoreKey);
    await callerFor(t.db, keyActor).scoring.predict({ endpoint: same, records: [records[0]] });
    expect(scoringRuntime(t.db).predictionLog.buffered).toBeGreaterThan(0);
    await scoringRuntime(t.db).flushRecorders();
    expect(await logged(same)).toBe(601);
    const [row] = await t.query("select p.* from prediction_log p join endpoints e on e.id = p.endpoint_id where e.name = $1 and p.request_id is not null and p.record->>'id' = $2", [same, String(records[0]!.id)]);
    expect(row!.record).toEqual(records[0]);
    expect(Number(row!.probability)).toBeGreaterThan(0);
    expect(['bad', 'good']).toContain(row!.label);
  });

  it('matches a boolean labels column (true/false) with a model whose classes are the CSV\'s Yes/No', async () => {
    const ctx = ctxFor(t.db, admin);
    const words = (rs: ReturnType<typeof rows>, yes: string, no: string) => `id,x,kind,y\n${rs.map((r) => `${r.id},${r.x},${r.kind},${r.y === 'bad' ? yes : no}`).join('\n')}\n`;
    await uploadDataset({ ctx, input: { projectId, name: 'training_yes_no', environment: 'design' }, csv: Readable.from([words(rows(1500, 7), 'Yes', 'No')]) });
    await trainModelVersion({ ctx, input: { projectId, modelName: 'yes-no', dataset: 'training_yes_no', spec: { algorithm: 'logistic_regression', target: 'y', positiveClass: 'Yes', features: ['x', 'kind'] } } });
    const endpoint = `yes-no-${driver}`;
    await createEndpoint({ ctx, input: { projectId, name: endpoint, model: 'yes-no', description: '' } });
    const key = (await createApiKey({ ctx, input: { projectId, name: 'yes-no-scorer', scopes: [`score:${endpoint}`] } })).secret;
    const scored = rows(300, 8);
    const res = await app.inject({ method: 'POST', url: `/api/v1/endpoints/${endpoint}/predict`, headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, payload: JSON.stringify({ records: scored.map(({ y: _y, ...r }) => r) }) });
    expect(res.statusCode).toBe(200);
    expect(new Set((res.json() as { predictions: { label: string }[] }).predictions.map((p) => p.label))).toEqual(new Set(['Yes', 'No']));
    // The outcomes arrive typed boolean, spelled true/false: they are read as true/false, not as "Yes".
    await uploadDataset({ ctx, input: { projectId, name: 'outcomes_bool', environment: 'design' }, csv: Readable.from([words(scored, 'true', 'false')]) });
    const [col] = await t.query("select columns from datasets where project_id = $1 and name = 'outcomes_bool'", [projectId]);
    expect((col!.columns as { name: string; type: string }[]).find((c) => c.name === 'y')?.type).toBe('boolean');
    const report = await callerFor(t.db, admin).endpoints.computeDrift({ projectId, name: endpoint, labels: { dataset: 'outcomes_bool', label: 'y', environment: 'design' } });
    expect(report.labelledRows).toBe(300);
    // Independent expectation: the AUC of the logged probabilities against the true outcomes (both classes present).
    expect(report.auc).not.toBeNull();
    expect(report.auc!).toBeGreaterThan(0.7);
  });

  it('computes low drift on data like the training data and high drift on shifted data, with AUC from a labels dataset, and serves the reports', async () => {
    const shiftedRecords = rows(400, 3, 6).map(({ y: _y, ...r }) => r);
    expect((await predict(shifted, shiftedRecords)).statusCode).toBe(200);
    await uploadDataset({ ctx: ctxFor(t.db, admin), input: { projectId, name: 'outcomes', environment: 'design' }, csv: Readable.from([csvOf(rows(600, 2))]) });
    const deployer = callerFor(t.db, admin);
    const low = await deployer.endpoints.computeDrift({ projectId, name: same, labels: { dataset: 'outcomes', label: 'y', environment: 'design' } });
    expect(low.rows).toBe(601);
    expect(low.maxPsi!).toBeLessThan(0.1);
    expect(low.features.map((f) => [f.feature, f.test])).toEqual([['x', 'ks'], ['kind', 'chi_square']]);
    expect(low.features.every((f) => f.pValue > 0.001)).toBe(true);
    expect(low.labelledRows).toBe(601);
    expect(low.auc!).toBeGreaterThan(0.7);

    const high = await deployer.endpoints.computeDrift({ projectId, name: shifted, window: { last: '1h' } });
    expect(high.maxPsi!).toBeGreaterThan(1);
    expect(high.predictionPsi!).toBeGreaterThan(0.2);
    expect(high.auc).toBeNull();
    for (const f of high.features) {
      expect(f.psi).toBeGreaterThan(0.2);
      expect(f.pValue).toBeLessThan(1e-6);
    }

    const drift = await callerFor(t.db, viewer).endpoints.drift({ projectId, name: shifted });
    expect(drift.threshold).toBe(0.2);
    expect(drift.predictionLog).toEqual({ buffered: 0, dropped: 0, refused: 0, capacity: 50_000 });
    expect(drift.reports.map((r) => r.id)).toEqual([high.id]);
    expect(await trpcCode(callerFor(t.db, viewer).endpoints.computeDrift({ projectId, name: shifted }))).toBe('FORBIDDEN');
    // This test's endpoints only (the yes/no case above computed drift on its own endpoint).
    const audit = await t.query("select details from audit_events where action = 'endpoint.drift_compute' and details->>'endpoint' = any($1) order by seq", [[same, shifted]]);
    expect(audit.map((a) => (a.details as { endpoint: string }).endpoint)).toEqual([same, shifted]);
  });

  it('rebuilds the reference of a version stored without one from its training dataset', async () => {
    await t.query("update model_versions set reference = null where model_id = (select id from models where name = 'risk')");
    const report = await callerFor(t.db, admin).endpoints.computeDrift({ projectId, name: shifted });
    expect(report.maxPsi!).toBeGreaterThan(1);
    expect(report.predictionPsi!).toBeGreaterThan(0.2);
    const [audit] = await t.query("select details from audit_events where action = 'endpoint.drift_compute' order by seq desc limit 1");
    expect(audit!.details).toMatchObject({ endpoint: shifted, reference: 'training_dataset' });
  });

  it('says why drift is unavailable: no reference for an imported model, no predictions in the window', async () => {
    const name = `imported-${driver}`;
    await tinyEndpoint(t.db, admin, projectId, name);
    const deployer = callerFor(t.db, admin);
    await expect(deployer.endpoints.computeDrift({ projectId, name })).rejects.toThrow(/drift is unavailable for imported-.*-model v1: version 1 was imported without its training data/);
    const empty = { since: '2020-01-01T00:00:00Z', until: '2020-01-02T00:00:00Z' };
    await expect(deployer.endpoints.computeDrift({ projectId, name: same, window: empty })).rejects.toThrow(/no predictions of risk v1 were logged/);
  });

  it('keeps at most its capacity in memory, counts what it drops, writes what it kept, and deletes rows past retention', async () => {
    const endpointId = String((await t.query('select id from endpoints where name = $1', [same]))[0]!.id);
    const versionId = String((await t.query("select mv.id from model_versions mv join models m on m.id = mv.model_id where m.name = 'risk'"))[0]!.id);
    const old = new PredictionLogRecorder(t.db, { intervalMs: 60_000 });
    old.record({ endpointId, versionId, bundleHash: null, at: Date.now() - 31 * 86_400_000, requestId: 'too-old', record: { x: 1, kind: 'a' }, probability: 0.5, label: 'good' });
    await old.flush();
    expect(await t.query("select 1 from prediction_log where request_id = 'too-old'")).toEqual([]);
    const log = new PredictionLogRecorder(t.db, { capacity: 100, intervalMs: 60_000 });
    for (let i = 0; i < 250; i++) log.record({ endpointId, versionId, bundleHash: null, at: Date.now(), requestId: `bounded-${i}`, record: { x: i, kind: 'a' }, probability: 0.5, label: 'no' });
    expect(log.buffered).toBeLessThanOrEqual(100);
    expect(log.buffered + log.dropped).toBe(250);
    const kept = log.buffered;
    await log.flush();
    expect(log.buffered).toBe(0);
    const written = await t.query("select request_id from prediction_log where request_id like 'bounded-%'");
    // The newest rows are the ones kept.
    expect(written.map((r) => String(r.request_id)).sort()).toEqual(Array.from({ length: kept }, (_, i) => `bounded-${250 - kept + i}`).sort());
  });

  it('writes what is buffered when the app shuts down', async () => {
    const before = await logged(same);
    const other = await buildApp({ db: t.db, driver: t.driver, role: 'all' });
    expect((await predict(same, rows(30, 4).map(({ y: _y, ...r }) => r), other)).statusCode).toBe(200);
    expect(scoringRuntime(t.db).predictionLog.buffered).toBe(30);
    await other.close();
    expect(scoringRuntime(t.db).predictionLog.buffered).toBe(0);
    expect(await logged(same)).toBe(before + 30);
  });
});
