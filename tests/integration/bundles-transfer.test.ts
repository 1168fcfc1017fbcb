import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import canonicalize from 'canonicalize';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelVersions } from '@/db/schema';
import { buildApp } from '@/server/app';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import { readArchive, writeArchive } from '@/server/services/bundles/archive';
import type { Actor } from '@/server/services/context';
import { loadSeenRows } from '@/server/services/models/seen-rows-store';
import { trainModelVersion } from '@/server/services/models/train-model-version';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { endpointCell, records, registerTinyVersion } from '../helpers/bundles';
import { openTestDatabase, type Driver, type TestDatabase } from '../helpers/db';
import { uploadCredit } from '../helpers/models';
import { setNotebookCells, sql } from '../helpers/pipeline';

type Side = { t: TestDatabase; app: FastifyInstance; admin: Extract<Actor, { type: 'user' }>; projectId: string; auth: Record<string, string> };

async function openSide(driver: Driver, name: string): Promise<Side> {
  const t = await openTestDatabase(driver);
  const admin = await newUser(t.db, name);
  const team = await callerFor(t.db, admin).teams.create({ name });
  const projectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name })).id;
  const key = await createApiKey({ ctx: ctxFor(t.db, admin), input: { projectId, name: 'ci', scopes: ['deploy', 'read'] } });
  const app = await buildApp({ db: t.db, driver: t.driver, role: 'api' });
  return { t, app, admin, projectId, auth: { authorization: `Bearer ${key.secret}` } };
}

describe.each([
  ['embedded', 'postgres'],
  ['postgres', 'embedded'],
] as const)('moving a bundle between instances (%s to %s)', (from, to) => {
  let src: Side;
  let dst: Side;
  let hash: string;
  let file: Buffer;
  const ep = `moved-${from}`;

  beforeAll(async () => {
    [src, dst] = await Promise.all([openSide(from, 'source'), openSide(to, 'target')]);
    await registerTinyVersion(src.t.db, src.admin, src.projectId, 'risk', 1);
    await registerTinyVersion(src.t.db, src.admin, src.projectId, 'risk', 0.05);
    await callerFor(src.t.db, src.admin).models.setChampion({ projectId: src.projectId, name: 'risk', version: 2 });
    const notebookId = (await callerFor(src.t.db, src.admin).notebooks.create({ projectId: src.projectId, name: 'N' })).id;
    await setNotebookCells(src.t.db, notebookId, [sql('s', 'one', 'select 1 as x'), endpointCell('e', ep, 'risk', 'moved across')]);
    hash = (await callerFor(src.t.db, src.admin).bundles.promote({ projectId: src.projectId, notebookId, releaseNotes: 'to move', confirmFailedBuild: true })).bundle.hash;
    // The target already has a model of that name, with another version: the import adds one.
    await registerTinyVersion(dst.t.db, dst.admin, dst.projectId, 'risk', 3);
  }, 120_000);
  afterAll(async () => {
    await Promise.all([src?.app.close(), dst?.app.close()]);
    await Promise.all([src?.t.dispose(), dst?.t.dispose()]);
  });

  const importFile = (body: Buffer) =>
    dst.app.inject({ method: 'POST', url: `/api/v1/projects/${dst.projectId}/bundles/import`, headers: { ...dst.auth, 'content-type': 'application/octet-stream' }, payload: body });
  const targetState = async () => ({
    bundles: await dst.t.query('select project_id, hash from bundles order by hash'),
    versions: await dst.t.query('select model_id, version, artifact_sha256 from model_versions order by model_id, version'),
    artifacts: await dst.t.query('select sha256 from artifacts order by sha256'),
    audit: (await dst.t.query('select count(*)::int as n from audit_events'))[0]!.n,
  });

  it('exports over REST a gzipped tar with manifest.json, artifacts by sha256 and bundle.json listing their hashes and sizes', async () => {
    const res = await src.app.inject({ method: 'GET', url: `/api/v1/projects/${src.projectId}/bundles/${hash}/export`, headers: src.auth });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/application\/octet-stream/);
    file = res.rawPayload;
    const content = await readArchive(file);
    expect(content.index).toMatchObject({ manifestSha256: hash, releaseNotes: 'to move', builtOverFailure: true, artifacts: [{ sha256: expect.any(String), size: expect.any(Number) }] });
    expect(gunzipSync(file).includes(Buffer.from('artifacts/'))).toBe(true);
    // The same bundle exports to the same bytes.
    const again = await src.app.inject({ method: 'GET', url: `/api/v1/projects/${src.projectId}/bundles/${hash}/export`, headers: src.auth });
    expect(again.rawPayload.equals(file)).toBe(true);
  });

  it('refuses a file with one byte changed, with a 400 naming what failed, and changes nothing', async () => {
    const before = await targetState();
    const flipped = Buffer.from(file);
    flipped[Math.floor(flipped.length / 2)]! ^= 0xff;
    const res = await importFile(flipped);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { message: expect.stringMatching(/^the bundle file is not valid: /), field: 'file' } });

    // Altered inside a well-formed archive: the hashes catch it.
    const content = await readArchive(file);
    const [sha, bytes] = [...content.artifacts][0]!;
    const evil = Uint8Array.from(bytes);
    evil[100]! ^= 1;
    const tamperedArtifact = await writeArchive({ ...content, artifacts: new Map([[sha, evil]]) });
    const r1 = await importFile(tamperedArtifact);
    expect(r1.statusCode).toBe(400);
    expect((r1.json() as { error: { message: string } }).error.message).toMatch(new RegExp(`artifact ${sha} has sha256 [0-9a-f]{64}: its bytes were changed`));
    const tamperedManifest = await writeArchive({ ...content, manifest: content.manifest.replace('moved across', 'moved acrosz') });
    const r2 = await importFile(tamperedManifest);
    expect(r2.statusCode).toBe(400);
    expect((r2.json() as { error: { message: string } }).error.message).toMatch(/manifest\.json has sha256 [0-9a-f]{64}; bundle\.json says/);
    expect(await targetState()).toEqual(before);
  });

  it('refuses a truncated file with a 400 saying so, and changes nothing', async () => {
    const before = await targetState();
    for (const cut of [Math.floor(file.length / 2), file.length - 10]) {
      const res = await importFile(file.subarray(0, cut));
      expect(res.statusCode).toBe(400);
      expect((res.json() as { error: { message: string } }).error.message).toMatch(/truncated|not a gzipped tar/);
    }
    expect(await targetState()).toEqual(before);
  });

  it('refuses a bundle carrying Python requirements a project could not set (pip options, URLs), naming the line, and changes nothing', async () => {
    const before = await targetState();
    const content = await readArchive(file);
    // A well-formed bundle whose hashes all match: only the requirements' rules stop it.
    const withRequirements = (requirements: string) => {
      const manifest = canonicalize({ ...(JSON.parse(content.manifest) as object), python: { requirements } })!;
      return writeArchive({ ...content, manifest, index: { ...content.index, manifestSha256: createHash('sha256').update(manifest).digest('hex'), manifestSize: Buffer.byteLength(manifest) } });
    };
    const res = await importFile(await withRequirements('--index-url https://evil.example/simple\nsbtiny==1.0.0\n'));
    expect(res.statusCode).toBe(400);
    const message = (res.json() as { error: { message: string } }).error.message;
    expect(message).toMatch(/^the bundle file is not valid: manifest\.json: python\.requirements cannot be installed here/);
    expect(message).toContain('line 1 (--index-url https://evil.example/simple): pip options are not allowed');
    const unsorted = await importFile(await withRequirements('zeta==1.0\nalpha==2.0\n'));
    expect(unsorted.statusCode).toBe(400);
    expect((unsorted.json() as { error: { message: string } }).error.message).toMatch(/python\.requirements is not in the normalised form/);
    expect(await targetState()).toEqual(before);
  });

  it('imports over REST with the same hash, creates the missing model version, deploys there and scores through the target endpoint', async () => {
    const res = await importFile(file);
    expect(res.statusCode).toBe(201);
    const body = res.json() as { bundle: { hash: string; origin: string; releaseNotes: string }; created: boolean; modelVersionsCreated: { model: string; version: number }[] };
    expect(body).toMatchObject({ created: true, bundle: { hash, origin: 'import', releaseNotes: 'to move' }, modelVersionsCreated: [{ model: 'risk', version: 2 }] });
    const versions = await callerFor(dst.t.db, dst.admin).models.versions({ projectId: dst.projectId, name: 'risk' });
    expect(versions.find((v) => v.version === 2)).toMatchObject({ source: 'imported', artifactSha256: (await readArchive(file)).index.artifacts[0]!.sha256 });
    // Importing it again is a no-op.
    expect((await importFile(file)).json()).toMatchObject({ created: false, modelVersionsCreated: [] });

    const deploy = await dst.app.inject({ method: 'POST', url: `/api/v1/projects/${dst.projectId}/deployments`, headers: dst.auth, payload: { bundleHash: hash, reason: 'from staging' } });
    expect(deploy.statusCode).toBe(200);
    expect(deploy.json()).toMatchObject({ deployment: { bundleHash: hash, active: true }, endpoints: [{ name: ep, change: 'create', model: 'risk', version: 2 }] });
    const key = await createApiKey({ ctx: ctxFor(dst.t.db, dst.admin), input: { projectId: dst.projectId, name: 'score', scopes: [`score:${ep}`] } });
    const scored = await dst.app.inject({ method: 'POST', url: `/api/v1/endpoints/${ep}/predict`, headers: { authorization: `Bearer ${key.secret}` }, payload: { records } });
    expect(scored.statusCode).toBe(200);
    expect(scored.json()).toMatchObject({ endpoint: ep, model: 'risk', modelVersion: 2, bundle: hash });
    const audit = await dst.t.query(`select action, details from audit_events where action in ('bundle.import', 'model.import', 'deployment.activate') order by seq`);
    expect(audit.map((a) => a.action)).toEqual(['model.import', 'bundle.import', 'deployment.activate']);
    expect(audit.every((a) => (a.details as { bundleHash: string }).bundleHash === hash)).toBe(true);
  });
});

describe('a trained version moves with the digest of its training rows', () => {
  let src: Side;
  let dst: Side;

  beforeAll(async () => {
    [src, dst] = await Promise.all([openSide('postgres', 'trained-source'), openSide('embedded', 'trained-target')]);
    await uploadCredit(src.t.db, src.admin, src.projectId);
    await trainModelVersion({ ctx: ctxFor(src.t.db, src.admin), input: { projectId: src.projectId, modelName: 'credit-risk', dataset: 'credit', spec: { target: 'status', positiveClass: 'bad', algorithm: 'logistic_regression' } } });
  }, 120_000);
  afterAll(async () => {
    await Promise.all([src?.app.close(), dst?.app.close()]);
    await Promise.all([src?.t.dispose(), dst?.t.dispose()]);
  });

  it('exports the digest as an artifact of the bundle and imports it with the version, so a retrain gate there still leaves those rows out', async () => {
    const [trained] = await src.t.db.select().from(modelVersions);
    const seenRows = trained!.trainingData!.seenRows!;
    // 80% of the credit data, less a few identical applications.
    expect(seenRows.count).toBeGreaterThan(3_500);
    const notebookId = (await callerFor(src.t.db, src.admin).notebooks.create({ projectId: src.projectId, name: 'N' })).id;
    await setNotebookCells(src.t.db, notebookId, [endpointCell('e', 'trained-moved', 'credit-risk', 'with its training rows')]);
    const { hash } = (await callerFor(src.t.db, src.admin).bundles.promote({ projectId: src.projectId, notebookId, releaseNotes: 'trained', confirmFailedBuild: true })).bundle;
    const exported = await src.app.inject({ method: 'GET', url: `/api/v1/projects/${src.projectId}/bundles/${hash}/export`, headers: src.auth });
    expect((await readArchive(exported.rawPayload)).index.artifacts).toContainEqual({ sha256: seenRows.sha256, size: 8 + 4 * seenRows.count, mediaType: 'application/x-stagebook-seen-rows' });

    const imported = await dst.app.inject({ method: 'POST', url: `/api/v1/projects/${dst.projectId}/bundles/import`, headers: { ...dst.auth, 'content-type': 'application/octet-stream' }, payload: exported.rawPayload });
    expect(imported.statusCode).toBe(201);
    const [moved] = await dst.t.db.select().from(modelVersions);
    expect(moved!.trainingData).toMatchObject({ seenRows });
    const there = await loadSeenRows(dst.t.db, moved!.trainingData);
    const here = await loadSeenRows(src.t.db, trained!.trainingData);
    expect(there).toHaveLength(seenRows.count);
    expect(Array.from(there!)).toEqual(Array.from(here!));
  });
});
