import { desc, eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents } from '@/db/schema';
import { buildApp } from '@/server/app';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import type { Actor } from '@/server/services/context';
import { callerFor, ctxFor, newUser, trpcCode } from '../helpers/api';
import { registerTinyVersion } from '../helpers/bundles';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { tinyEndpoint } from '../helpers/models';
import { setNotebookCells } from '../helpers/pipeline';

type Answer = { predictions: { label: string; probabilities: { yes: number; no: number } }[] };

/** 41 records over the tiny model's range (x 0..10, both kinds): their scores spread over (0, 1). */
const records = Array.from({ length: 41 }, (_, i) => ({ x: i / 4, kind: i % 2 ? 'a' : 'b' }));

describe('an endpoint decision threshold', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let admin: Extract<Actor, { type: 'user' }>;
  let projectId: string;
  let key: string;

  const predict = async (endpoint = 'thr') => {
    const res = await app.inject({ method: 'POST', url: `/api/v1/endpoints/${endpoint}/predict`, headers: { authorization: `Bearer ${key}` }, payload: { records } });
    expect(res.statusCode).toBe(200);
    return (res.json() as Answer).predictions;
  };

  beforeAll(async () => {
    t = await openTestDatabase('postgres');
    admin = await newUser(t.db, 'admin');
    const team = await callerFor(t.db, admin).teams.create({ name: 'Risk' });
    projectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'Thresholds' })).id;
    await tinyEndpoint(t.db, admin, projectId, 'thr');
    key = (await createApiKey({ ctx: ctxFor(t.db, admin), input: { projectId, name: 'scorer', scopes: ['score:thr', 'score:thr-live'] } })).secret;
    app = await buildApp({ db: t.db, driver: t.driver, role: 'all' });
  });
  afterAll(async () => {
    await app?.close();
    await disposeWithProjectRoles(t);
  });

  it('labels positive exactly when p >= threshold, at the boundary too, and audits the change', async () => {
    const before = await predict();
    const ps = before.map((p) => p.probabilities.yes);
    // Without a threshold the model's own label (0.5) is returned.
    expect(before.map((p) => p.label)).toEqual(ps.map((p) => (p >= 0.5 ? 'yes' : 'no')));
    const sorted = [...new Set(ps)].sort((a, b) => a - b);
    expect(sorted.length).toBeGreaterThan(10);
    expect(sorted[0]).toBeLessThan(0.2);
    expect(sorted.at(-1)).toBeGreaterThan(0.8);

    // A threshold equal to one record's score: that record is positive (>=), the next lower is not.
    const k = Math.floor(sorted.length / 4);
    const boundary = sorted[k]!;
    const updated = await callerFor(t.db, admin).endpoints.update({ projectId, name: 'thr', threshold: boundary });
    expect(updated.threshold).toBe(boundary);
    const at = await predict();
    expect(at.map((p) => p.probabilities.yes)).toEqual(ps);
    expect(at.map((p) => p.label)).toEqual(ps.map((p) => (p >= boundary ? 'yes' : 'no')));
    const onBoundary = ps.indexOf(boundary);
    expect(at[onBoundary]!.label).toBe('yes');
    expect(at.filter((p) => p.label === 'yes').length).toBe(ps.filter((p) => p >= boundary).length);
    expect(ps.filter((p) => p >= boundary).length).toBeGreaterThan(ps.filter((p) => p >= 0.5).length);

    // Just above it (halfway to the next score): the boundary record turns negative.
    const above = (boundary + sorted[k + 1]!) / 2;
    await callerFor(t.db, admin).endpoints.update({ projectId, name: 'thr', threshold: above });
    const over = await predict();
    expect(over[onBoundary]!.label).toBe('no');
    expect(over.map((p) => p.label)).toEqual(ps.map((p) => (p >= above ? 'yes' : 'no')));

    const [event] = await t.db.select().from(auditEvents).where(eq(auditEvents.action, 'endpoint.update')).orderBy(desc(auditEvents.seq)).limit(1);
    expect(event).toMatchObject({ details: { name: 'thr', before: { threshold: boundary }, after: { threshold: above } } });

    // null goes back to the model's own label; omitting it keeps the threshold.
    await callerFor(t.db, admin).endpoints.update({ projectId, name: 'thr', threshold: null });
    expect((await predict()).map((p) => p.label)).toEqual(before.map((p) => p.label));
    await callerFor(t.db, admin).endpoints.update({ projectId, name: 'thr', threshold: 0.9 });
    const kept = await callerFor(t.db, admin).endpoints.update({ projectId, name: 'thr', description: 'scores' });
    expect(kept.threshold).toBe(0.9);
    expect((await predict()).map((p) => p.label)).toEqual(ps.map((p) => (p >= 0.9 ? 'yes' : 'no')));
  });

  it('refuses a threshold outside [0, 1] or not a number, naming it', async () => {
    const caller = callerFor(t.db, admin);
    await expect(caller.endpoints.update({ projectId, name: 'thr', threshold: 1.5 })).rejects.toThrow(/threshold must be between 0 and 1/);
    await expect(caller.endpoints.update({ projectId, name: 'thr', threshold: -0.1 })).rejects.toThrow(/threshold must be between 0 and 1/);
    await expect(caller.endpoints.update({ projectId, name: 'thr', threshold: '0.3' as unknown as number })).rejects.toThrow(/threshold must be a number between 0 and 1/);
    await expect(caller.endpoints.create({ projectId, name: 'thr2', model: 'thr-model', threshold: 2 })).rejects.toThrow(/threshold must be between 0 and 1/);
  });

  it('a deployed endpoint takes its threshold from the endpoint cell (in the bundle), and only a deployment changes it', async () => {
    await registerTinyVersion(t.db, admin, projectId, 'live-model');
    const caller = callerFor(t.db, admin);
    const notebookId = (await caller.notebooks.create({ projectId, name: 'Release' })).id;
    await setNotebookCells(t.db, notebookId, [{ id: 'ep', kind: 'endpoint', source: 'name: thr-live\nmodel: live-model\nthreshold: 0.25\n' }]);
    const bundle = (await caller.bundles.promote({ projectId, notebookId, releaseNotes: 'threshold 0.25', confirmFailedBuild: true })).bundle.hash;
    const [manifest] = await t.query(`select manifest from bundles where hash = '${bundle}'`);
    expect((JSON.parse(manifest!.manifest as string) as { endpoints: unknown[] }).endpoints).toEqual([{ name: 'thr-live', model: 'live-model', description: '', cellId: 'ep', threshold: 0.25 }]);
    await caller.deployments.deploy({ projectId, bundleHash: bundle, reason: 'threshold' });

    const live = await predict('thr-live');
    const ps = live.map((p) => p.probabilities.yes);
    expect(ps.some((p) => p >= 0.25 && p < 0.5)).toBe(true);
    expect(live.map((p) => p.label)).toEqual(ps.map((p) => (p >= 0.25 ? 'yes' : 'no')));
    expect(await caller.endpoints.get({ projectId, name: 'thr-live' })).toMatchObject({ threshold: 0.25 });
    expect(await trpcCode(caller.endpoints.update({ projectId, name: 'thr-live', threshold: 0.5 }))).toBe('CONFLICT');

    // An endpoint cell with a bad threshold is refused at promotion, naming the cell.
    await setNotebookCells(t.db, notebookId, [{ id: 'ep', kind: 'endpoint', source: 'name: thr-live\nmodel: live-model\nthreshold: 1.2\n' }]);
    await expect(caller.bundles.promote({ projectId, notebookId, releaseNotes: 'bad', confirmFailedBuild: true })).rejects.toThrow(/threshold must be between 0 and 1/);
  });
});
