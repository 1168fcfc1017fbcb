import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { and, eq } from 'drizzle-orm';
import * as ort from 'onnxruntime-node';
import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, teamMembers } from '@/db/schema';
import { buildApp } from '@/server/app';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import type { Actor } from '@/server/services/context';
import { deployBundle } from '@/server/services/activation/deploy-bundle';
import { readArtifact } from '@/server/services/models/artifacts';
import { uploadDataset } from '@/server/services/datasets/upload-dataset';
import { callerFor, ctxFor, newUser, trpcCode } from '../helpers/api';
import { endpointCell, records, registerTinyVersion } from '../helpers/bundles';
import { drivers, openTestDatabase, type TestDatabase } from '../helpers/db';
import { setNotebookCells } from '../helpers/pipeline';

type Predict = { endpoint: string; model: string; modelVersion: number; bundle: string | null; predictions: { modelVersion: number; probabilities: Record<string, number> }[] };

describe.each(drivers)('deploying bundles to production and rolling back (%s)', (driver) => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let admin: Extract<Actor, { type: 'user' }>;
  let editor: Extract<Actor, { type: 'user' }>;
  let deployer: Extract<Actor, { type: 'user' }>;
  let projectId: string;
  let otherProjectId: string;
  let notebookId: string;
  let auth: Record<string, string>;
  const ep = `prod-${driver}`;
  const extra = `extra-${driver}`;
  /** Bundle A serves risk v1 at `ep`; bundle B serves risk v2 at `ep` and fraud v1 at `extra`. */
  let a: string;
  let b: string;

  const setChampion = async (model: string, version: number) =>
    callerFor(t.db, deployer).models.setChampion({ projectId, name: model, version });
  const promote = async (notes: string) => (await callerFor(t.db, editor).bundles.promote({ projectId, notebookId, releaseNotes: notes, confirmFailedBuild: true })).bundle.hash;
  const predict = async (name = ep) => {
    const res = await app.inject({ method: 'POST', url: `/api/v1/endpoints/${name}/predict`, headers: auth, payload: { records } });
    return { status: res.statusCode, body: res.json() as Predict };
  };
  const snapshot = async () => ({
    endpoints: await t.query('select name, project_id, model_id, pinned_version_id, description, bundle_hash from endpoints order by name'),
    deployments: await t.query('select id, bundle_hash, kind, deactivated_at from deployments order by activated_at'),
    audit: (await t.query('select count(*)::int as n from audit_events'))[0]!.n,
  });

  beforeAll(async () => {
    t = await openTestDatabase(driver);
    admin = await newUser(t.db, 'admin');
    editor = await newUser(t.db, 'editor');
    deployer = await newUser(t.db, 'deployer');
    const team = await callerFor(t.db, admin).teams.create({ name: 'Prod' });
    await t.db.insert(teamMembers).values([
      { teamId: team.id, userId: editor.userId, role: 'editor' },
      { teamId: team.id, userId: deployer.userId, role: 'deployer' },
    ]);
    projectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'P' })).id;
    otherProjectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'Q' })).id;
    await registerTinyVersion(t.db, editor, projectId, 'risk', 1);
    await registerTinyVersion(t.db, editor, projectId, 'risk', 0.01);
    await registerTinyVersion(t.db, editor, projectId, 'fraud', 2);
    notebookId = (await callerFor(t.db, editor).notebooks.create({ projectId, name: 'N' })).id;
    await setNotebookCells(t.db, notebookId, [endpointCell('e1', ep, 'risk')]);
    a = await promote('A: risk v1');
    await setChampion('risk', 2);
    await setNotebookCells(t.db, notebookId, [endpointCell('e1', ep, 'risk'), endpointCell('e2', extra, 'fraud')]);
    b = await promote('B: risk v2 and fraud');
    await setChampion('risk', 1);
    const key = await createApiKey({ ctx: ctxFor(t.db, admin), input: { projectId, name: 'scorer', scopes: [`score:${ep}`, `score:${extra}`] } });
    auth = { authorization: `Bearer ${key.secret}` };
    app = await buildApp({ db: t.db, driver: t.driver, role: 'api' });
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await t?.dispose();
  });

  it('deploys: production endpoints serve the bundle pinned versions and predict responses carry the bundle hash', async () => {
    expect((await predict()).status).toBe(404);
    const first = await callerFor(t.db, deployer).deployments.deploy({ projectId, bundleHash: a, reason: 'first release' });
    expect(first).toMatchObject({ changed: true, deployment: { bundleHash: a, kind: 'deploy', active: true, reason: 'first release', releaseNotes: 'A: risk v1' } });
    expect(first.endpoints).toEqual([{ name: ep, change: 'create', model: 'risk', version: 1 }]);
    expect(await predict()).toMatchObject({ status: 200, body: { endpoint: ep, model: 'risk', modelVersion: 1, bundle: a } });

    const second = await callerFor(t.db, deployer).deployments.deploy({ projectId, bundleHash: b, reason: 'v2 and fraud' });
    // In name order: the bundle's endpoints are sorted.
    expect(second.endpoints).toEqual([
      { name: extra, change: 'create', model: 'fraud', version: 1 },
      { name: ep, change: 'update', model: 'risk', version: 2 },
    ]);
    // Pinned: the champion (v1 now) does not decide what production serves.
    expect(await predict()).toMatchObject({ status: 200, body: { modelVersion: 2, bundle: b } });
    expect(await predict(extra)).toMatchObject({ status: 200, body: { model: 'fraud', bundle: b } });
    // Production endpoints change only through deployments.
    expect(await trpcCode(callerFor(t.db, deployer).endpoints.update({ projectId, name: ep, version: 1 }))).toBe('CONFLICT');
    expect(await trpcCode(callerFor(t.db, deployer).endpoints.delete({ projectId, name: ep }))).toBe('CONFLICT');

    const events = await t.db.select().from(auditEvents).where(and(eq(auditEvents.projectId, projectId), eq(auditEvents.action, 'deployment.activate'))).orderBy(auditEvents.seq);
    expect(events.map((e) => [e.details.bundleHash, e.details.previousBundleHash, e.actorLabel])).toEqual([
      [a, null, deployer.email],
      [b, a, deployer.email],
    ]);
  });

  it('rolls back in one action: the earlier bundle is active again, its removed endpoints gone, audited with both hashes', async () => {
    const rolled = await callerFor(t.db, deployer).deployments.rollback({ projectId, reason: 'fraud model misbehaves' });
    expect(rolled.deployment).toMatchObject({ bundleHash: a, kind: 'rollback', active: true });
    expect(rolled.endpoints).toEqual([
      { name: ep, change: 'update', model: 'risk', version: 1 },
      { name: extra, change: 'delete', model: null, version: null },
    ]);
    expect(await predict()).toMatchObject({ status: 200, body: { modelVersion: 1, bundle: a } });
    expect((await predict(extra)).status).toBe(404);
    const history = await callerFor(t.db, deployer).deployments.list({ projectId });
    expect(history.map((d) => [d.bundleHash, d.kind, d.active, d.activatedBy])).toEqual([
      [a, 'rollback', true, deployer.email],
      [b, 'deploy', false, deployer.email],
      [a, 'deploy', false, deployer.email],
    ]);
    expect(history[1]!.deactivatedAt).not.toBeNull();
    const [event] = await t.db.select().from(auditEvents).where(and(eq(auditEvents.projectId, projectId), eq(auditEvents.action, 'deployment.rollback')));
    expect(event!.details).toMatchObject({ bundleHash: a, previousBundleHash: b, reason: 'fraud model misbehaves' });
    expect((await callerFor(t.db, deployer).bundles.list({ projectId })).find((x) => x.active)?.hash).toBe(a);
  });

  it('is idempotent: activating the active bundle again changes and records nothing', async () => {
    const before = await snapshot();
    const again = await callerFor(t.db, deployer).deployments.deploy({ projectId, bundleHash: a, reason: 'again' });
    expect(again).toMatchObject({ changed: false, deployment: { bundleHash: a, kind: 'rollback' } });
    expect(again.endpoints.every((e) => e.change === 'unchanged')).toBe(true);
    expect(await snapshot()).toEqual(before);
  });

  it('leaves the previous deployment fully active when activation fails between endpoint updates', async () => {
    const before = await snapshot();
    const err = await deployBundle({
      ctx: ctxFor(t.db, deployer),
      input: { projectId, bundleHash: b, reason: 'will fail' },
      hooks: {
        afterEndpointChange: (name) => {
          if (name === ep) throw new Error('injected failure after the first endpoint');
        },
      },
    }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/injected failure/);
    expect(await snapshot()).toEqual(before);
    expect(await predict()).toMatchObject({ status: 200, body: { modelVersion: 1, bundle: a } });
    expect((await predict(extra)).status).toBe(404);
  });

  it('answers 409 naming the endpoint when another project holds an endpoint name the bundle declares, and changes nothing', async () => {
    await registerTinyVersion(t.db, admin, otherProjectId, 'other', 1);
    await callerFor(t.db, admin).endpoints.create({ projectId: otherProjectId, name: extra, model: 'other' });
    const before = await snapshot();
    const err = await callerFor(t.db, deployer)
      .deployments.deploy({ projectId, bundleHash: b, reason: 'clash' })
      .catch((e: unknown) => e as { code: string; message: string });
    expect(err).toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(new RegExp(`"${extra}" is taken by another project`)) });
    const res = await app.inject({ method: 'POST', url: `/api/v1/projects/${projectId}/deployments`, headers: { cookie: '' }, payload: { bundleHash: b, reason: 'x' } });
    expect(res.statusCode).toBe(401);
    expect(await snapshot()).toEqual(before);
    await callerFor(t.db, admin).endpoints.delete({ projectId: otherProjectId, name: extra });
  });

  it('lets only deployers deploy and roll back; editors promote but cannot deploy', async () => {
    expect(await trpcCode(callerFor(t.db, editor).deployments.deploy({ projectId, bundleHash: b, reason: 'x' }))).toBe('FORBIDDEN');
    expect(await trpcCode(callerFor(t.db, editor).deployments.rollback({ projectId, reason: 'x' }))).toBe('FORBIDDEN');
    expect(await trpcCode(callerFor(t.db, editor).deployments.list({ projectId }))).toBe('OK');
  });

  /** P(yes) of each of `records` from onnxruntime on the artifact of risk v`version`, in a session of the test's own. */
  const onnxYes = async (version: number): Promise<number[]> => {
    const detail = await callerFor(t.db, deployer).models.versionDetail({ projectId, name: 'risk', version });
    const session = await ort.InferenceSession.create(await readArtifact(t.db, detail.artifactSha256));
    const feeds: Record<string, ort.Tensor> = {};
    for (const f of detail.featureSchema.inputs) {
      const values = records.map((r) => (r as Record<string, unknown>)[f.name]);
      feeds[f.input] = f.tensor === 'string' ? new ort.Tensor('string', values.map(String), [records.length, 1]) : new ort.Tensor('float32', Float32Array.from(values.map(Number)), [records.length, 1]);
    }
    const p = (await session.run(feeds)).probabilities!.data as Float32Array;
    return records.map((_r, i) => p[2 * i + detail.featureSchema.positiveIndex]!);
  };

  it('switches endpoints under load with no failed request and no mixed versions', async () => {
    const expectedBundle: Record<number, string> = { 1: a, 2: b };
    // Version and bundle in a response come from one config, so they cannot disagree with each
    // other; the probabilities are compared with onnxruntime on the version the response names.
    const expectedYes: Record<number, number[]> = { 1: await onnxYes(1), 2: await onnxYes(2) };
    expect(Math.abs(expectedYes[1]![0]! - expectedYes[2]![0]!)).toBeGreaterThan(1e-3);
    let stop = false;
    const seen = new Set<string>();
    const failures: string[] = [];
    const load = async () => {
      while (!stop) {
        const r = await predict();
        if (r.status !== 200) failures.push(`${r.status} ${JSON.stringify(r.body)}`);
        else {
          const versions = new Set(r.body.predictions.map((p) => p.modelVersion));
          if (versions.size !== 1 || !versions.has(r.body.modelVersion)) failures.push(`mixed ${[...versions].join(',')}`);
          if (expectedBundle[r.body.modelVersion] !== r.body.bundle) failures.push(`version ${r.body.modelVersion} under bundle ${r.body.bundle}`);
          r.body.predictions.forEach((p, i) => {
            const want = expectedYes[r.body.modelVersion]?.[i];
            if (want === undefined || Math.abs(p.probabilities.yes! - want) > 1e-6) failures.push(`version ${r.body.modelVersion} answered P(yes)=${p.probabilities.yes} for record ${i}; its ONNX gives ${want}`);
          });
          seen.add(r.body.bundle!);
        }
      }
    };
    const clients = Array.from({ length: 4 }, load);
    for (let i = 0; i < 3; i++) {
      await callerFor(t.db, deployer).deployments.deploy({ projectId, bundleHash: b, reason: `load ${i}` });
      await new Promise((r) => setTimeout(r, 30));
      await callerFor(t.db, deployer).deployments.rollback({ projectId, reason: `load back ${i}` });
      await new Promise((r) => setTimeout(r, 30));
    }
    stop = true;
    await Promise.all(clients);
    expect(failures).toEqual([]);
    expect(seen).toEqual(new Set([a, b]));
  });

  it('refuses a rollback with nothing deployed, to an unknown or never-deployed bundle, with a 4xx saying why', async () => {
    const refusal = async (p: Promise<unknown>) => {
      try {
        await p;
        return 'OK';
      } catch (err) {
        if (err instanceof TRPCError) return `${err.code}: ${err.message}`;
        throw err;
      }
    };
    const before = await snapshot();
    const other = callerFor(t.db, deployer).deployments;
    expect(await refusal(other.rollback({ projectId: otherProjectId, reason: 'r' }))).toMatch(/^PRECONDITION_FAILED: nothing is deployed in production/);
    expect(await refusal(other.rollback({ projectId: otherProjectId, bundleHash: 'f'.repeat(64), reason: 'r' }))).toMatch(/^PRECONDITION_FAILED: bundle ffffffffffff was never deployed/);
    expect(await refusal(other.rollback({ projectId: otherProjectId, bundleHash: 'not-a-hash', reason: 'r' }))).toMatch(/^BAD_REQUEST: .*hash/);
    expect(await refusal(other.deploy({ projectId: otherProjectId, bundleHash: 'f'.repeat(64), reason: 'r' }))).toMatch(/^NOT_FOUND: /);
    // A bundle of another project is unknown here, not deployable across projects.
    expect(await refusal(other.deploy({ projectId: otherProjectId, bundleHash: a, reason: 'r' }))).toMatch(/^NOT_FOUND: /);
    expect(await snapshot()).toEqual(before);
  });

  it('keeps production and design data apart in both directions', async () => {
    const upload = (environment: 'design' | 'production', csv: string) =>
      uploadDataset({ ctx: ctxFor(t.db, editor), input: { projectId, name: 'loans', environment }, csv: Readable.from([csv]) });
    await upload('design', 'id,amount\n1,100\n2,200\n3,300\n');
    await upload('production', 'id,amount\n10,1000\n20,2000\n');
    const rows = async (environment: 'design' | 'production') => (await callerFor(t.db, editor).datasets.preview({ projectId, name: 'loans', environment })).rows;
    const design = await rows('design');
    const production = await rows('production');
    expect(design).toEqual([[1, 100], [2, 200], [3, 300]]);
    expect(production).toEqual([[10, 1000], [20, 2000]]);
    await callerFor(t.db, deployer).deployments.deploy({ projectId, bundleHash: b, reason: 'separation' });
    await callerFor(t.db, deployer).deployments.rollback({ projectId, reason: 'separation' });
    // A design upload does not reach production, nor a production one design.
    await upload('design', 'id,amount\n4,400\n');
    expect(await rows('production')).toEqual(production);
    await upload('production', 'id,amount\n30,3000\n');
    expect(await rows('design')).toEqual([[4, 400]]);
    expect(await rows('production')).toEqual([[30, 3000]]);
  });
});
