import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '@/server/app';
import { uploadDataset } from '@/server/services/datasets/upload-dataset';
import type { Actor } from '@/server/services/context';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { creditDataCsv, disposeWithProjectRoles } from '../helpers/datasets';
import { drivers, openTestDatabase, type TestDatabase } from '../helpers/db';
import { createSession } from '@/server/services/auth/session';

describe.each(drivers)('uploading CSV datasets on %s', (driver) => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let editor: Extract<Actor, { type: 'user' }>;
  let cookie: Record<string, string>;
  let projectId: string;

  beforeAll(async () => {
    t = await openTestDatabase(driver);
    editor = await newUser(t.db, 'editor');
    const team = await callerFor(t.db, editor).teams.create({ name: 'Data' });
    projectId = (await callerFor(t.db, editor).projects.create({ teamId: team.id, name: 'Credit' })).id;
    cookie = { cookie: `sb_session=${(await createSession(t.db, editor.userId)).token}` };
    app = await buildApp({ db: t.db, driver: t.driver, role: 'api' });
  });
  afterAll(async () => {
    await app?.close();
    await disposeWithProjectRoles(t);
  });

  const upload = (name: string, body: string | Readable, query = '') =>
    app.inject({ method: 'POST', url: `/api/v1/projects/${projectId}/datasets?name=${name}${query}`, headers: { ...cookie, 'content-type': 'text/csv' }, payload: body });
  const caller = () => callerFor(t.db, editor);

  it('streams credit_data.csv in, infers the column types and counts 4,454 rows with NA as NULL', async () => {
    const res = await upload('credit', createReadStream(creditDataCsv));
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json() as { dataset: { columns: { name: string; type: string; nullable: boolean }[]; rowCount: number }; rows: number; bytes: number; created: boolean };
    expect(body).toMatchObject({ rows: 4454, bytes: 311108, created: true, dataset: { rowCount: 4454, kind: 'source', environment: 'design' } });
    expect(Object.fromEntries(body.dataset.columns.map((c) => [c.name, c.type]))).toEqual({
      status: 'text',
      seniority: 'integer',
      home: 'text',
      time: 'integer',
      age: 'integer',
      marital: 'text',
      records: 'boolean',
      job: 'text',
      expenses: 'integer',
      income: 'integer',
      assets: 'integer',
      debt: 'integer',
      amount: 'integer',
      price: 'integer',
    });
    expect(body.dataset.columns.find((c) => c.name === 'income')?.nullable).toBe(true);
    expect(body.dataset.columns.find((c) => c.name === 'amount')?.nullable).toBe(false);

    const preview = await caller().datasets.preview({ projectId, name: 'credit', limit: 2 });
    expect(preview.rows[0]).toEqual(['good', 9, 'rent', 60, 30, 'married', false, 'freelance', 73, 129, 0, 0, 800, 846]);
    const page = await caller().datasets.preview({ projectId, name: 'credit', offset: 4450, limit: 10 });
    expect(page.rows).toHaveLength(4);
    const schema = `p_${projectId.replace(/-/g, '')}_design`;
    const [nulls] = await t.query(`select count(*)::int as n from ${schema}.credit where income is null`);
    expect(nulls?.n).toBeGreaterThan(0);
    const [na] = await t.query(`select count(*)::int as n from ${schema}.credit where home = 'NA' or job = 'NA'`);
    expect(na?.n).toBe(0);

    const { events } = await callerFor(t.db, editor).audit.list({ projectId, limit: 10 });
    expect(events.map((e) => e.action).slice(0, 2)).toEqual(['dataset.upload', 'dataset.create']);
    expect(events[0]?.details).toMatchObject({ name: 'credit', rows: 4454, bytes: 311108 });
    expect((await caller().datasets.list({ projectId })).map((d) => d.name)).toContain('credit');
  });

  it('rejects a ragged row with its line and column, leaving the previous data in place', async () => {
    const before = await caller().datasets.get({ projectId, name: 'credit' });
    const lines = ['a,b,c', '1,2,3', '4,5,6', '7,8', '9,10,11'];
    const res = await upload('credit', lines.join('\n'));
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: 'invalid', message: 'the CSV was not loaded: line 4, column 3 (c): missing value: the header has 3 columns, this row 2' } });
    expect(await caller().datasets.get({ projectId, name: 'credit' })).toEqual(before);
    const page = await caller().datasets.preview({ projectId, name: 'credit', limit: 1 });
    expect(page.rows[0]?.[0]).toBe('good');
    expect(page.columns).toHaveLength(14);
  });

  it('rejects a value that does not fit the column type, past the inference sample, with line and column', async () => {
    const rows = Array.from({ length: 30_000 }, (_, i) => `${i},x${i}`);
    rows[25_000] = 'twelve,x';
    const res = await upload('big', ['n,label', ...rows].join('\n'));
    expect(res.statusCode).toBe(400);
    expect((res.json() as { error: { message: string } }).error.message).toMatch(/^the CSV was not loaded: line 25002, column 1 \(n\): "twelve" is not an integer \(the type was inferred from the first 20000 rows/);
    expect((await caller().datasets.list({ projectId })).map((d) => d.name)).not.toContain('big');
    const schema = `p_${projectId.replace(/-/g, '')}_design`;
    expect(await t.query(`select tablename from pg_tables where schemaname = $1 and tablename <> 'credit'`, [schema])).toEqual([]);
  });

  it('names the line and column of a value only Postgres refuses, many batches into the COPY, and keeps the previous data', async () => {
    // Year 0 passes the upload's own timestamp check; Postgres refuses it while the COPY streams
    // (megabytes of rows already sent ahead of it), and the answer still names where it is.
    const rows = Array.from({ length: 120_000 }, (_, i) => `${i},2024-03-${String((i % 28) + 1).padStart(2, '0')},some padding text for row ${i}`);
    rows[100_000] = '100000,0000-01-01,bad year';
    const first = await upload('years', ['n,day,note', ...rows.slice(0, 10)].join('\n'));
    expect(first.statusCode, first.body).toBe(200);
    const before = await caller().datasets.get({ projectId, name: 'years' });
    const res = await upload('years', ['n,day,note', ...rows].join('\n'));
    expect(res.statusCode).toBe(400);
    expect((res.json() as { error: { message: string } }).error.message).toMatch(/^the CSV was not loaded: line 100002, column 2 \(day\): date\/time field value out of range/);
    expect(await caller().datasets.get({ projectId, name: 'years' })).toEqual(before);
    expect((await caller().datasets.preview({ projectId, name: 'years', limit: 100 })).rows).toHaveLength(10);
  });

  it('stops reading the file soon after Postgres refuses a row', async () => {
    const total = 400_000;
    let sent = 0;
    async function* csv() {
      yield 'n,day,note\n';
      for (let start = 0; start < total; start += 10_000) {
        const rows = Array.from({ length: 10_000 }, (_, k) => (start + k === 50_000 ? '50000,0000-01-01,bad year\n' : `${start + k},2024-03-01,some padding text for row ${start + k}\n`));
        sent += rows.length;
        yield rows.join('');
        // As a socket or a file delivers it: a chunk per turn of the event loop.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    await expect(uploadDataset({ ctx: ctxFor(t.db, editor), input: { projectId, name: 'years_early', environment: 'design' }, csv: csv() })).rejects.toMatchObject({
      message: expect.stringMatching(/^the CSV was not loaded: line 50002, column 2 \(day\): date\/time field value out of range/),
    });
    expect(sent).toBeLessThan(total / 2);
  });

  it('takes type overrides, refuses values that break them, and reports quoting errors', async () => {
    const ok = await upload('typed', 'id,score,flag,at\n1,2,1,2024-01-05\n2,NA,0,2024-02-29 10:30:00\n', '&types=score:numeric,flag:boolean');
    expect(ok.statusCode, ok.body).toBe(200);
    expect((ok.json() as { dataset: { columns: { type: string }[] } }).dataset.columns.map((c) => c.type)).toEqual(['integer', 'numeric', 'boolean', 'timestamp']);
    const p = await caller().datasets.preview({ projectId, name: 'typed' });
    expect(p.rows).toEqual([
      [1, 2, true, '2024-01-05T00:00:00.000Z'],
      [2, null, false, '2024-02-29T10:30:00.000Z'],
    ]);
    const bad = await upload('typed2', 'id,day\n1,2024-01-05\n2,2023-02-29\n', '&types=day:timestamp');
    expect(bad.json()).toMatchObject({ error: { message: expect.stringContaining('line 3, column 2 (day): "2023-02-29" is not a timestamp') } });
    const quote = await upload('typed3', 'a,b\n1,"open\n2,3\n');
    expect(quote.statusCode).toBe(400);
    expect((quote.json() as { error: { message: string } }).error.message).toMatch(/line \d+: Quote Not Closed/);
    const unknownType = await upload('typed4', 'a\n1\n', '&types=b:integer');
    expect((unknownType.json() as { error: { message: string } }).error.message).toContain('"b", which is not a column');
    const badParam = await upload('typed5', 'a\n1\n', '&types=a:float');
    expect(badParam.statusCode).toBe(400);
    expect((badParam.json() as { error: { field: string } }).error.field).toBe('types');
  });

  it('reports progress while streaming, and changes a column type strictly', async () => {
    const progress: { bytesRead: number; rows: number }[] = [];
    const big = Readable.from((function* () {
      yield 'id,amount\n';
      for (let i = 0; i < 600; i++) yield Array.from({ length: 1000 }, (_, j) => `${i * 1000 + j},${j % 7}.5\n`).join('');
    })());
    const r = await uploadDataset({ ctx: ctxFor(t.db, editor), input: { projectId, name: 'progress', environment: 'design' }, csv: big, onProgress: (p) => progress.push(p) });
    expect(r.rows).toBe(600_000);
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.at(-1)).toEqual({ bytesRead: r.bytes, rows: 600_000 });
    expect(progress.map((p) => p.rows)).toEqual([...progress.map((p) => p.rows)].sort((a, b) => a - b));

    await expect(caller().datasets.setColumnType({ projectId, name: 'progress', column: 'amount', type: 'integer' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('cannot make "amount" integer'),
    });
    const changed = await caller().datasets.setColumnType({ projectId, name: 'credit', column: 'seniority', type: 'numeric' });
    expect(changed.columns.find((c) => c.name === 'seniority')?.type).toBe('numeric');
    const { events } = await caller().audit.list({ projectId, action: 'dataset.column_type_change', limit: 1 });
    expect(events[0]?.details).toMatchObject({ column: 'seniority', before: { type: 'integer' }, after: { type: 'numeric' } });
    await expect(caller().datasets.setColumnType({ projectId, name: 'credit', column: 'senority', type: 'text' })).rejects.toMatchObject({ message: expect.stringContaining('did you mean "seniority"') });
  });

  it('refuses non-CSV bodies and bad names before reading anything', async () => {
    const json = await app.inject({ method: 'POST', url: `/api/v1/projects/${projectId}/datasets?name=x`, headers: { ...cookie, 'content-type': 'application/json' }, payload: '{}' });
    expect(json.statusCode).toBe(415);
    const name = await upload('Bad-Name', 'a\n1\n');
    expect(name.statusCode).toBe(400);
    expect((name.json() as { error: { field: string } }).error.field).toBe('name');
    const empty = await upload('empty', '');
    expect((empty.json() as { error: { message: string } }).error.message).toContain('the file is empty');
  });
});
