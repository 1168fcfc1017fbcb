import { createHash } from 'node:crypto';
import { createGzip, gunzipSync, gzipSync } from 'node:zlib';
import canonicalize from 'canonicalize';
import type { FastifyInstance } from 'fastify';
import { pack, type Header } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '@/server/app';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import { MAX_ARCHIVE_BYTES, readArchive, type ArchiveContent } from '@/server/services/bundles/archive';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { endpointCell, registerTinyVersion } from '../helpers/bundles';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { setNotebookCells } from '../helpers/pipeline';
import { classifierOnnx, externalTensor } from '../helpers/onnx-files';
import { node } from '@/server/ml/onnx/proto';

type Entry = Partial<Header> & { name: string; data?: Buffer };

/** A gzipped tar written entry by entry, so an attack can put anything a tar can hold in it. */
async function tarGz(entries: Entry[]): Promise<Buffer> {
  const tar = pack();
  const chunks: Buffer[] = [];
  tar.on('data', (c: unknown) => void chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve) => tar.on('end', () => resolve()));
  for (const { data, ...header } of entries) {
    await new Promise<void>((resolve, reject) =>
      tar.entry({ mode: 0o644, mtime: new Date(0), ...header, ...(data ? { size: data.byteLength } : {}) }, data ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve())),
    );
  }
  tar.finalize();
  await ended;
  return gzipSync(Buffer.concat(chunks));
}

const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** The entries of a genuine export, in the order an export writes them. */
function entriesOf(c: ArchiveContent): Entry[] {
  return [
    { name: 'bundle.json', data: Buffer.from(JSON.stringify(c.index)) },
    { name: 'manifest.json', data: Buffer.from(c.manifest) },
    ...[...c.artifacts].map(([s, bytes]) => ({ name: `artifacts/${s}`, data: Buffer.from(bytes) })),
  ];
}

describe('bundle import refuses archives with traversal or unexpected entries, and writes nothing', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let projectId: string;
  let target: string;
  let auth: Record<string, string>;
  let genuine: ArchiveContent;

  beforeAll(async () => {
    t = await openTestDatabase('postgres');
    const admin = await newUser(t.db, 'bundle-attacker');
    const team = await callerFor(t.db, admin).teams.create({ name: 'Bundles' });
    projectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'Source' })).id;
    target = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'Target' })).id;
    const key = await createApiKey({ ctx: ctxFor(t.db, admin), input: { projectId: target, name: 'ci', scopes: ['deploy', 'read'] } });
    auth = { authorization: `Bearer ${key.secret}` };
    await registerTinyVersion(t.db, admin, projectId, 'risk', 1);
    const notebookId = (await callerFor(t.db, admin).notebooks.create({ projectId, name: 'N' })).id;
    await setNotebookCells(t.db, notebookId, [endpointCell('e', 'risk-ep', 'risk')]);
    const hash = (await callerFor(t.db, admin).bundles.promote({ projectId, notebookId, releaseNotes: 'attack base', confirmFailedBuild: true })).bundle.hash;
    app = await buildApp({ db: t.db, driver: t.driver, role: 'api' });
    const sourceKey = await createApiKey({ ctx: ctxFor(t.db, admin), input: { projectId, name: 'ci', scopes: ['deploy'] } });
    const res = await app.inject({ method: 'GET', url: `/api/v1/projects/${projectId}/bundles/${hash}/export`, headers: { authorization: `Bearer ${sourceKey.secret}` } });
    genuine = await readArchive(res.rawPayload);
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await t?.dispose();
  });

  const importFile = (body: Buffer) =>
    app.inject({ method: 'POST', url: `/api/v1/projects/${target}/bundles/import`, headers: { ...auth, 'content-type': 'application/gzip' }, payload: body });
  /** Everything an import could write, across the instance (not only the target project). */
  const state = async () => ({
    bundles: await t.query('select project_id, hash from bundles order by project_id, hash'),
    versions: await t.query('select model_id, version, artifact_sha256 from model_versions order by model_id, version'),
    artifacts: await t.query('select sha256 from artifacts order by sha256'),
    audit: (await t.query('select count(*)::int as n from audit_events'))[0]!.n,
  });
  const refused = async (body: Buffer, status: number, message: RegExp) => {
    const before = await state();
    const res = await importFile(body);
    expect(res.statusCode, res.body).toBe(status);
    const { error } = res.json() as { error: { message: string; field?: string } };
    expect(error.message).toMatch(message);
    expect(await state()).toEqual(before);
  };

  it('imports the genuine archive rebuilt entry by entry (the attacks below each change one thing)', async () => {
    const before = await state();
    const res = await importFile(await tarGz(entriesOf(genuine)));
    expect(res.statusCode, res.body).toBe(201);
    expect((await state()).bundles.length).toBe(before.bundles.length + 1);
  });

  it.each([
    ['../x', /unexpected entry "\.\.\/x"/],
    ['../../../../tmp/stagebook-pwned', /unexpected entry "\.\.\/\.\.\/\.\.\/\.\.\/tmp\/stagebook-pwned"/],
    ['/etc/cron.d/pwned', /unexpected entry "\/etc\/cron\.d\/pwned"/],
    [`artifacts/../../${'a'.repeat(64)}`, /unexpected entry "artifacts\/\.\.\/\.\.\//],
    ['artifacts\\..\\..\\x', /unexpected entry "artifacts\\\.\.\\\.\.\\x"/],
    ['./bundle.json', /unexpected entry "\.\/bundle\.json"/],
  ])('refuses an entry named %s', async (name, message) => {
    await refused(await tarGz([...entriesOf(genuine), { name, data: Buffer.from('pwned') }]), 400, message);
  });

  it('refuses symlinks, hardlinks, directories and devices, even under an expected name', async () => {
    const artifact = `artifacts/${[...genuine.artifacts.keys()][0]}`;
    const rest = entriesOf(genuine).filter((e) => e.name !== artifact);
    await refused(await tarGz([...rest, { name: artifact, type: 'symlink', linkname: '/etc/passwd' }]), 400, /unexpected symlink entry "artifacts\/[0-9a-f]{64}" \(-> "\/etc\/passwd"\)/);
    await refused(await tarGz([...rest, { name: artifact, type: 'link', linkname: '../../etc/passwd' }]), 400, /unexpected link entry/);
    await refused(await tarGz([{ name: 'artifacts/', type: 'directory' }, ...entriesOf(genuine)]), 400, /unexpected directory entry "artifacts\/"/);
    await refused(await tarGz([...entriesOf(genuine), { name: 'manifest.json', type: 'fifo' }]), 400, /unexpected fifo entry/);
  });

  it('refuses duplicate entries (a second manifest.json after the first)', async () => {
    await refused(await tarGz([...entriesOf(genuine), { name: 'manifest.json', data: Buffer.from('{}') }]), 400, /entry "manifest\.json" appears twice/);
  });

  it(`refuses an entry larger than ${MAX_ARCHIVE_BYTES / 1024 / 1024} MiB unpacked with a 413, from its header, without reading it`, async () => {
    // A tar header that declares 600 MiB and a body that stops short: refused on the header alone.
    const header = await tarGz([{ name: `artifacts/${'b'.repeat(64)}`, data: Buffer.alloc(10) }]);
    const raw = gunzipSync(header);
    const size = (600 * 1024 * 1024).toString(8).padStart(11, '0');
    raw.write(`${size}\0`, 124, 'latin1');
    let sum = 0;
    raw.fill(' ', 148, 156);
    for (let i = 0; i < 512; i++) sum += raw[i]!;
    raw.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    const started = Date.now();
    await refused(gzipSync(raw), 413, /larger than 512 MiB unpacked/);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('refuses a small file that inflates past the limit after the end of the archive (a gzip bomb of zeros)', async () => {
    const tar = gunzipSync(await tarGz(entriesOf(genuine)));
    const gz = createGzip({ level: 9 });
    const chunks: Buffer[] = [];
    gz.on('data', (c: Buffer) => chunks.push(c));
    const ended = new Promise<void>((resolve) => gz.on('end', () => resolve()));
    gz.write(tar);
    const zeros = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < 600; i++) if (!gz.write(zeros)) await new Promise((r) => gz.once('drain', r));
    gz.end();
    await ended;
    const bomb = Buffer.concat(chunks);
    expect(bomb.byteLength).toBeLessThan(2 * 1024 * 1024);
    await refused(bomb, 413, /larger than 512 MiB unpacked/);
  }, 120_000);

  it('refuses a bundle whose model artifact is an ONNX file with external data, naming the model', async () => {
    const evil = classifierOnnx({
      initializers: [externalTensor('w', '../../../../etc/passwd')],
      graphPatch: (g) => {
        g.node![0]!.input = ['xw'];
        g.node!.unshift(node('Add', ['x', 'w'], ['xw']));
      },
    });
    const manifest = JSON.parse(genuine.manifest) as { models: { name: string; artifact: { sha256: string; size: number; mediaType: string } }[] };
    const old = manifest.models[0]!.artifact.sha256;
    manifest.models[0]!.artifact = { ...manifest.models[0]!.artifact, sha256: sha(evil), size: evil.byteLength };
    const text = canonicalize(manifest)!;
    const index = {
      ...genuine.index,
      manifestSha256: sha(text),
      manifestSize: Buffer.byteLength(text),
      artifacts: genuine.index.artifacts.map((a) => (a.sha256 === old ? { ...a, sha256: sha(evil), size: evil.byteLength } : a)),
    };
    const artifacts = new Map([...genuine.artifacts].map(([s, b]) => (s === old ? [sha(evil), evil] : [s, b])));
    await refused(await tarGz(entriesOf({ index, manifest: text, artifacts })), 400, /model "risk": .*external file \("\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd"\)/);
  });
});
