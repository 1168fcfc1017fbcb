import { parse } from 'csv-parse/sync';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { teamMembers } from '@/db/schema';
import { buildApp } from '@/server/app';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import { rocAuc } from '@/server/ml/metrics';
import type { Actor } from '@/server/services/context';
import { uploadDataset } from '@/server/services/datasets/upload-dataset';
import { trainModelVersion } from '@/server/services/models/train-model-version';
import { scoringRuntime } from '@/server/services/scoring/runtime';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { creditDataCsv, disposeWithProjectRoles } from '../helpers/datasets';
import { drivers, openTestDatabase, type TestDatabase } from '../helpers/db';
import { uploadCredit } from '../helpers/models';

type User = Extract<Actor, { type: 'user' }>;
type Prediction = { label: string; probabilities: Record<string, number>; modelVersion: number };
type LogRow = { model_version_id: string; shadow: boolean; pair_id: string | null; request_id: string | null; probability: number; label: string; record: { id?: number } };

const creditRows = (n: number) => parse(readFileSync(creditDataCsv, 'utf8'), { columns: (h: string[]) => h.map((c) => c.toLowerCase()), to: n + 1 }) as Record<string, string>[];

/** The first n applications as scoring records, each with an `id` (1, 2, ...) the labels are keyed by. */
function creditRecords(n: number): Record<string, unknown>[] {
  return creditRows(n).map((r, i) => {
    const { status: _status, ...features } = r;
    return Object.fromEntries(
      [['id', i + 1] as const, ...Object.entries(features)].map(([k, v]) => {
        if (typeof v === 'number') return [k, v];
        if (v === 'NA' || v === '') return [k, null];
        if (k === 'records') return [k, v === 'yes'];
        return [k, Number.isNaN(Number(v)) ? v : Number(v)];
      }),
    );
  });
}

describe.each(drivers)('shadow scoring on %s', (driver) => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let admin: User;
  let viewer: User;
  let projectId: string;
  let secret: string;
  const name = `shadow-${driver}`;
  const records = creditRecords(40);

  beforeAll(async () => {
    t = await openTestDatabase(driver);
    admin = await newUser(t.db, 'admin');
    const team = await callerFor(t.db, admin).teams.create({ name: 'Risk' });
    projectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'Credit' })).id;
    viewer = await newUser(t.db, 'viewer');
    await t.db.insert(teamMembers).values({ teamId: team.id, userId: viewer.userId, role: 'viewer' });
    await uploadCredit(t.db, admin, projectId);
    const ctx = ctxFor(t.db, admin);
    const spec = { target: 'status', positiveClass: 'bad' };
    await trainModelVersion({ ctx, input: { projectId, modelName: 'credit-risk', dataset: 'credit', spec: { ...spec, algorithm: 'logistic_regression' } } });
    await trainModelVersion({ ctx, input: { projectId, modelName: 'credit-risk', dataset: 'credit', spec: { ...spec, algorithm: 'gradient_boosted_trees', params: { maxIter: 40 } } } });
    await callerFor(t.db, admin).endpoints.create({ projectId, name, model: 'credit-risk' });
    secret = (await createApiKey({ ctx, input: { projectId, name: 'scorer', scopes: [`score:${name}`] } })).secret;
    app = await buildApp({ db: t.db, driver: t.driver, role: 'all' });
  });
  afterAll(async () => {
    await app?.close();
    await disposeWithProjectRoles(t);
  });

  const predict = (body: unknown) => app.inject({ method: 'POST', url: `/api/v1/endpoints/${name}/predict`, headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` }, payload: JSON.stringify(body) });
  const logRows = async (): Promise<LogRow[]> => {
    await scoringRuntime(t.db).flushRecorders();
    return (await t.query('select model_version_id, shadow, pair_id, request_id, probability, label, record from prediction_log order by logged_at, shadow')) as LogRow[];
  };
  const versionIds = async () => new Map(((await t.query("select v.id, v.version from model_versions v join models m on m.id = v.model_id where m.name = 'credit-risk'")) as { id: string; version: number }[]).map((v) => [v.version, v.id]));

  it('refuses the shadow version to a viewer and refuses the served version as its own shadow', async () => {
    const asViewer = await callerFor(t.db, viewer)
      .endpoints.update({ projectId, name, shadowVersion: 2 })
      .catch((e: unknown) => e);
    expect(asViewer).toBeInstanceOf(TRPCError);
    expect((asViewer as TRPCError).code).toBe('FORBIDDEN');
    const served = await callerFor(t.db, admin)
      .endpoints.update({ projectId, name, shadowVersion: 1 })
      .catch((e: unknown) => e);
    expect((served as TRPCError).code).toBe('BAD_REQUEST');
    expect((await callerFor(t.db, admin).endpoints.get({ projectId, name })).shadowVersion).toBeNull();
  });

  it('answers with the served version only, logs a paired shadow row per record, and compares the two', async () => {
    const set = await callerFor(t.db, admin).endpoints.update({ projectId, name, shadowVersion: 2 });
    expect(set).toMatchObject({ servingVersion: 1, shadowVersion: 2 });
    const [event] = await t.query("select details from audit_events where action = 'endpoint.update' order by seq desc limit 1");
    expect(event!.details).toMatchObject({ name, before: { shadowVersion: null }, after: { shadowVersion: 2, servingVersion: 1 } });

    for (const batch of [records.slice(0, 25), records.slice(25)]) {
      const res = await predict({ records: batch });
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json() as { modelVersion: number; predictions: Prediction[] };
      expect(body.modelVersion).toBe(1);
      expect(body.predictions).toHaveLength(batch.length);
      expect(body.predictions.every((p) => p.modelVersion === 1)).toBe(true);
    }

    const ids = await versionIds();
    const rows = await logRows();
    const served = rows.filter((r) => !r.shadow);
    const shadow = rows.filter((r) => r.shadow);
    expect(served).toHaveLength(records.length);
    expect(shadow).toHaveLength(records.length);
    expect(new Set(served.map((r) => r.model_version_id))).toEqual(new Set([ids.get(1)]));
    expect(new Set(shadow.map((r) => r.model_version_id))).toEqual(new Set([ids.get(2)]));
    const servedByPair = new Map(served.map((r) => [r.pair_id, r]));
    expect(servedByPair.size).toBe(records.length);
    for (const s of shadow) {
      const pair = servedByPair.get(s.pair_id);
      expect(pair, `shadow row ${s.pair_id} has its served row`).toBeDefined();
      expect(s.request_id).toBe(pair!.request_id);
    }

    const comparison = await callerFor(t.db, viewer).endpoints.shadowComparison({ projectId, name, window: { last: '24h' } });
    const agreeing = shadow.filter((s) => servedByPair.get(s.pair_id)!.label === s.label).length;
    const diffs = shadow.map((s) => Math.abs(servedByPair.get(s.pair_id)!.probability - s.probability));
    expect(comparison).toMatchObject({ shadowVersion: 2, servedVersions: [1], rows: records.length });
    expect(comparison.agreement).toBeCloseTo(agreeing / records.length, 10);
    expect(comparison.meanAbsDiff).toBeCloseTo(diffs.reduce((a, b) => a + b, 0) / diffs.length, 10);
    expect(comparison.p95AbsDiff).toBeCloseTo([...diffs].sort((a, b) => a - b)[Math.ceil(0.95 * diffs.length) - 1]!, 10);
    // Two different algorithms: they disagree somewhere in probability.
    expect(comparison.meanAbsDiff).toBeGreaterThan(0);
    expect(comparison.labelled).toBeNull();
  });

  it('with a labels dataset, compares the AUC of the served and of the shadow scores on the labelled records', async () => {
    const statuses = creditRows(records.length).map((r) => r.status);
    // Labels for the first 30 of the 40 records only: the rest have not arrived yet.
    const csv = ['id,status', ...statuses.slice(0, 30).map((st, i) => `${i + 1},${st}`)].join('\n') + '\n';
    await uploadDataset({ ctx: ctxFor(t.db, admin), input: { projectId, name: 'outcomes', environment: 'design' }, csv: Readable.from([csv]) });
    const comparison = await callerFor(t.db, viewer).endpoints.shadowComparison({ projectId, name, labels: { dataset: 'outcomes', label: 'status', environment: 'design' } });
    const rows = await logRows();
    const byPair = new Map(rows.filter((r) => r.shadow).map((r) => [r.pair_id, r]));
    const labelled = rows.filter((r) => !r.shadow && r.pair_id && Number(r.record.id) <= 30);
    const y = labelled.map((r) => (statuses[Number(r.record.id) - 1] === 'bad' ? 1 : 0));
    expect(comparison.labelled).toEqual({
      rows: labelled.length,
      servedAuc: expect.closeTo(rocAuc(y, labelled.map((r) => r.probability)), 10),
      shadowAuc: expect.closeTo(rocAuc(y, labelled.map((r) => byPair.get(r.pair_id)!.probability)), 10),
    });
    expect(labelled.length).toBeGreaterThanOrEqual(30);
    await expect(callerFor(t.db, viewer).endpoints.shadowComparison({ projectId, name, labels: { dataset: 'outcomes', label: 'outcome', environment: 'design' } })).rejects.toThrow(
      /labels dataset "outcomes" has no column "outcome" \(columns: id, status\)/,
    );
  });

  it('leaves shadow rows out of drift: the report counts only the records the served version answered', async () => {
    const report = await callerFor(t.db, admin).endpoints.computeDrift({ projectId, name, window: { last: '24h' } });
    expect(report.rows).toBe(records.length);
  });

  it('answers tRPC scoring.predict with the served version and shadow-scores it too', async () => {
    const before = (await logRows()).filter((r) => r.shadow).length;
    const result = await callerFor(t.db, admin).scoring.predict({ endpoint: name, records: records.slice(0, 3) });
    expect(result.modelVersion).toBe(1);
    expect((await logRows()).filter((r) => r.shadow).length).toBe(before + 3);
  });

  it('stops shadow rows once cleared, and the comparison then names no shadow version', async () => {
    const cleared = await callerFor(t.db, admin).endpoints.update({ projectId, name, shadowVersion: null });
    expect(cleared.shadowVersion).toBeNull();
    const before = await logRows();
    expect((await predict({ records: records.slice(0, 5) })).statusCode).toBe(200);
    const after = await logRows();
    expect(after.filter((r) => r.shadow)).toHaveLength(before.filter((r) => r.shadow).length);
    const added = after.filter((r) => !r.shadow).length - before.filter((r) => !r.shadow).length;
    expect(added).toBe(5);
    expect(after.slice(-5).every((r) => r.pair_id === null)).toBe(true);
    expect(await callerFor(t.db, viewer).endpoints.shadowComparison({ projectId, name })).toMatchObject({ shadowVersion: null, rows: 0 });
  });

  it('ends the shadow when the shadow version is pinned: the swap serves it and scores nothing twice', async () => {
    await callerFor(t.db, admin).endpoints.update({ projectId, name, shadowVersion: 2 });
    const swapped = await callerFor(t.db, admin).endpoints.update({ projectId, name, version: 2 });
    expect(swapped).toMatchObject({ servingVersion: 2, shadowVersion: null });
    expect((await predict({ records: records.slice(0, 2) })).json()).toMatchObject({ modelVersion: 2 });
  });
});
