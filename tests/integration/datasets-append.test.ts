import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '@/server/app';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import { uploadDataset } from '@/server/services/datasets/upload-dataset';
import type { Actor } from '@/server/services/context';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { drivers, openTestDatabase, type TestDatabase } from '../helpers/db';

async function* text(s: string) {
  yield Buffer.from(s);
}

describe.each(drivers)('appending rows over REST on %s', (driver) => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let admin: Extract<Actor, { type: 'user' }>;
  let projectId: string;
  let ingest: Record<string, string>;
  let readOnly: Record<string, string>;

  beforeAll(async () => {
    t = await openTestDatabase(driver);
    admin = await newUser(t.db, 'admin');
    const team = await callerFor(t.db, admin).teams.create({ name: 'Ingest' });
    projectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'Loans' })).id;
    await uploadDataset({
      ctx: ctxFor(t.db, admin),
      input: { projectId, name: 'loans', environment: 'design' },
      csv: text('id,status,amount,rate,approved,applied_at\n1,good,800,0.5,yes,2024-01-01\n2,bad,NA,1.25,no,2024-01-02 10:00:00\n'),
    });
    const key = await createApiKey({ ctx: ctxFor(t.db, admin), input: { projectId, name: 'feed', scopes: ['ingest:loans'] } });
    ingest = { authorization: `Bearer ${key.secret}` };
    const read = await createApiKey({ ctx: ctxFor(t.db, admin), input: { projectId, name: 'reader', scopes: ['read', 'ingest:other'] } });
    readOnly = { authorization: `Bearer ${read.secret}` };
    app = await buildApp({ db: t.db, driver: t.driver, role: 'api' });
  });
  afterAll(async () => {
    await app?.close();
    await disposeWithProjectRoles(t);
  });

  const append = (rows: unknown, headers = ingest, name = 'loans') =>
    app.inject({ method: 'POST', url: `/api/v1/projects/${projectId}/datasets/${name}/rows`, headers, payload: { rows } });
  const count = async () => (await callerFor(t.db, admin).datasets.get({ projectId, name: 'loans' })).rowCount;
  const tableCount = async () => Number((await t.query(`select count(*)::int as n from p_${projectId.replace(/-/g, '')}_design.loans`))[0]?.n);

  it('appends valid rows with an ingest key, audits them and chains the fingerprint', async () => {
    const before = await callerFor(t.db, admin).datasets.get({ projectId, name: 'loans' });
    const res = await append([
      { id: 3, status: 'good', amount: 1200, rate: 0.75, approved: true, applied_at: '2024-02-01T09:00:00Z' },
      // A boolean as the words the CSV upload reads (yes/no, t/f, 1/0), as the README's example sends it.
      { id: 4, status: 'bad', rate: 2, approved: 'no', applied_at: '2024-02-02' },
    ]);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ appended: 2, rowCount: 4 });
    expect((res.json() as { fingerprint: string }).fingerprint).not.toBe(before.fingerprint);
    expect(await tableCount()).toBe(4);
    const page = await callerFor(t.db, admin).datasets.preview({ projectId, name: 'loans', offset: 2 });
    expect(page.rows).toEqual([
      [3, 'good', 1200, 0.75, true, '2024-02-01T09:00:00.000Z'],
      [4, 'bad', null, 2, false, '2024-02-02T00:00:00.000Z'],
    ]);
    const { events } = await callerFor(t.db, admin).audit.list({ projectId, action: 'dataset.append', limit: 1 });
    expect(events[0]).toMatchObject({ actor: { type: 'apiKey', label: 'key:feed' }, details: { name: 'loans', rows: 2, rowCount: 4 } });
  });

  it('refuses a batch with a bad row with 400 naming the row and field, and appends nothing', async () => {
    const n = await count();
    const res = await append([
      { id: 5, status: 'good', amount: 100, rate: 1, approved: true, applied_at: '2024-03-01' },
      { id: 6, status: 'good', amount: 'lots', rate: 1, approved: true, applied_at: '2024-03-01' },
    ]);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: 'invalid', field: 'rows[1].amount', message: expect.stringContaining('rows[1].amount: expected an integer, got "lots"') } });
    expect(await count()).toBe(n);
    expect(await tableCount()).toBe(n);

    const several = await append([
      { id: 7, status: null, amount: 1, rate: 1, approved: 'maybe', applied_at: '2024-13-01', colour: 'red' },
    ]);
    const message = (several.json() as { error: { message: string } }).error.message;
    expect(message).toContain('rows[0].colour: not a column');
    expect(message).toContain('rows[0].status: is required');
    expect(message).toContain('rows[0].approved: expected a boolean');
    expect(message).toContain('rows[0].applied_at: expected a timestamp');
    expect(await tableCount()).toBe(n);
    const typo = await append([{ id: 8, statuss: 'good' }]);
    expect((typo.json() as { error: { message: string } }).error.message).toContain('did you mean "status"?');
  });

  it('refuses malformed bodies, keys without the dataset scope, and unknown datasets', async () => {
    expect((await append([])).statusCode).toBe(400);
    expect((await append('nope')).statusCode).toBe(400);
    expect((await append([1, 2])).json()).toMatchObject({ error: { field: 'rows.0' } });
    expect((await append([{ id: 1 }], readOnly)).statusCode).toBe(403);
    const missing = await app.inject({ method: 'POST', url: `/api/v1/projects/${projectId}/datasets/other/rows`, headers: readOnly, payload: { rows: [{ id: 1 }] } });
    expect(missing.statusCode).toBe(404);
    expect((await append(Array.from({ length: 10_001 }, () => ({ id: 1 })))).json()).toMatchObject({ error: { message: expect.stringContaining('at most 10000 rows') } });
  });
});
