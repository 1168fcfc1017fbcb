import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '@/server/app';
import { attr, ElemType, node, tensorValue } from '@/server/ml/onnx/proto';
import { MAX_MODEL_BYTES } from '@/server/services/models/import-onnx-model';
import { sha256Of } from '@/server/services/models/artifacts';
import { createSession } from '@/server/services/auth/session';
import { scoringRuntime } from '@/server/services/scoring/runtime';
import { callerFor, newUser } from '../helpers/api';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { classifierOnnx, externalTensor } from '../helpers/onnx-files';

/** The attack feeds x through Add(x, w) so onnxruntime cannot prune the external initializer `w`. */
function readsFile(location: string): Uint8Array {
  return classifierOnnx({
    initializers: [externalTensor('w', location)],
    graphPatch: (g) => {
      g.node![0]!.input = ['xw'];
      g.node!.unshift(node('Add', ['x', 'w'], ['xw']));
    },
  });
}

describe('model import refuses ONNX files that would read other files or run native code', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let projectId: string;
  let cookie: string;

  beforeAll(async () => {
    t = await openTestDatabase('postgres');
    const admin = await newUser(t.db, 'onnx-attacker');
    const team = await callerFor(t.db, admin).teams.create({ name: 'ONNX' });
    projectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'P' })).id;
    cookie = `sb_session=${(await createSession(t.db, admin.userId)).token}`;
    app = await buildApp({ db: t.db, driver: t.driver, role: 'api' });
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await t?.dispose();
  });

  const upload = (name: string, body: Uint8Array, query = '') =>
    app.inject({
      method: 'POST',
      url: `/api/v1/projects/${projectId}/models/${name}/versions${query}`,
      headers: { cookie, 'content-type': 'application/octet-stream' },
      payload: Buffer.from(body.buffer, body.byteOffset, body.byteLength),
    });
  const storedArtifacts = async () => Number((await t.query('select count(*)::int as n from artifacts'))[0]!.n);

  it('accepts the plain classifier the attacks start from (so each refusal below is about the attack)', async () => {
    const res = await upload('baseline', classifierOnnx());
    expect(res.statusCode, res.body).toBe(201);
  });

  it.each([
    ['a relative path climbing out', '../../../../../../etc/passwd'],
    ['an absolute path', '/etc/passwd'],
    ['a file under the working directory (onnxruntime itself allows this one)', 'package.json'],
    ['the first-admin file in the home', '.stagebook/initial-admin.txt'],
    ['a backslash path', '..\\..\\etc\\passwd'],
  ])('refuses external_data pointing at %s with a 400 saying why, storing nothing', async (_what, location) => {
    const before = await storedArtifacts();
    const res = await upload('leak', readsFile(location));
    expect(res.statusCode, res.body).toBe(400);
    const { error } = res.json() as { error: { message: string; field: string } };
    expect(error.message).toMatch(/external file/);
    expect(error.message).toContain(location);
    expect(error.field).toBe('body');
    expect(await storedArtifacts()).toBe(before);
  });

  it('refuses custom operator domains, in the opset imports or on a node', async () => {
    const imported = await upload('custom', classifierOnnx({ extraOpsets: [{ domain: 'com.attacker', version: 1 }] }));
    expect(imported.statusCode).toBe(400);
    expect(imported.json().error.message).toMatch(/operator set "com\.attacker".*custom operators cannot/);
    const onNode = await upload(
      'custom',
      classifierOnnx({ graphPatch: (g) => g.node!.push({ ...node('Exec', ['x'], ['pwned']), domain: 'com.microsoft' }) }),
    );
    expect(onNode.statusCode).toBe(400);
    expect(onNode.json().error.message).toMatch(/custom domain "com\.microsoft"/);
  });

  it('refuses huge declared dimensions before onnxruntime allocates anything', async () => {
    const bomb = classifierOnnx({ initializers: [{ name: 'bomb', dataType: ElemType.FLOAT, dims: [1_000_000, 1_000_000] }] });
    const res = await upload('bomb', bomb);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toMatch(/initializer "bomb" declares 1000000 x 1000000 elements/);
    const wide = await upload('wide', classifierOnnx({ valueInfo: [tensorValue('huge', ElemType.FLOAT, ['N', 2 ** 40])] }));
    expect(wide.statusCode).toBe(400);
    expect(wide.json().error.message).toMatch(/value "huge" declares a dimension of 1099511627776/);
  });

  it('refuses a multi-class model with a 400 naming the class count', async () => {
    const res = await upload('three', classifierOnnx({ classes: 3 }));
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toMatch(/3 classes; only binary classifiers/);
  });

  it('feature names given at import stay names: SQL in them runs nowhere, control characters and oversize lists are refused', async () => {
    // A LinearClassifier over one packed [N, 2] input.
    const packed = classifierOnnx({
      graphPatch: (g) => {
        g.input = [tensorValue('x', ElemType.FLOAT, ['N', 2])];
        g.node![0]!.attribute![0] = attr.floats('coefficients', [-1, -1, 1, 1]);
      },
    });
    const evil = `a"; drop table users; --`;
    const ok = await upload('packed', packed, `?${new URLSearchParams({ features: `${evil},b` })}`);
    expect(ok.statusCode, ok.body).toBe(201);
    // The name is a record key like any other; the users table is still there.
    expect(Number((await t.query('select count(*)::int as n from users'))[0]!.n)).toBeGreaterThan(0);
    const before = await storedArtifacts();
    const control = await upload('packed2', packed, `?${new URLSearchParams({ features: 'a,b\u0007c' })}`);
    expect(control.statusCode).toBe(400);
    expect(control.json().error).toMatchObject({ field: 'features' });
    expect(control.json().error.message).toMatch(/control character in name 2/);
    const long = await upload('packed2', packed, `?${new URLSearchParams({ features: Array.from({ length: 5000 }, (_, i) => `f${i}`).join(',') })}`);
    expect(long.statusCode).toBe(400);
    expect(long.json().error.field).toBe('features');
    expect(await storedArtifacts()).toBe(before);
  });

  it('the scoring runtime refuses to load such a file even when it did not come through an import', async () => {
    const bytes = readsFile('package.json');
    const load = scoringRuntime(t.db).sessions.get(sha256Of(bytes), () => bytes);
    await expect(load).rejects.toThrow(/external file \("package\.json"\)/);
  });

  it(`accepts a model of exactly ${MAX_MODEL_BYTES / 1024 / 1024} MiB and refuses one byte more with a 413`, async () => {
    // Padding in the doc string; its length prefix grows from 1 to 4 bytes, hence one measurement first.
    const pad = (n: number) => classifierOnnx({ docString: 'x'.repeat(n) });
    const fill = MAX_MODEL_BYTES - pad(1 << 22).byteLength + (1 << 22);
    const padded = pad(fill);
    expect(padded.byteLength).toBe(MAX_MODEL_BYTES);
    const ok = await upload('big', padded);
    expect(ok.statusCode, ok.body.slice(0, 300)).toBe(201);
    const [row] = await t.query(`select size from artifacts where sha256 = '${sha256Of(padded)}'`);
    expect(Number(row?.size)).toBe(MAX_MODEL_BYTES);

    const over = pad(fill + 1);
    expect(over.byteLength).toBe(MAX_MODEL_BYTES + 1);
    const refused = await upload('big', over);
    expect(refused.statusCode).toBe(413);
    expect(refused.json().error.message).toMatch(/larger than 64 MiB/);
  }, 120_000);
});
