import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '@/server/app';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import type { Actor } from '@/server/services/context';
import { uploadDataset } from '@/server/services/datasets/upload-dataset';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { setNotebookCells } from '../helpers/pipeline';

async function* text(s: string) {
  yield Buffer.from(s);
}

const XSS = '<img src=x onerror=alert(1)>';

describe('REST /query and CSV downloads (Postgres)', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let admin: Extract<Actor, { type: 'user' }>;
  let projectId: string;
  let notebookId: string;
  let key: string;
  const auth = () => ({ authorization: `Bearer ${key}` });

  beforeAll(async () => {
    t = await openTestDatabase('postgres');
    admin = await newUser(t.db, 'admin');
    const a = callerFor(t.db, admin);
    const team = await a.teams.create({ name: 'Q' });
    projectId = (await a.projects.create({ teamId: team.id, name: 'P' })).id;
    await uploadDataset({
      ctx: ctxFor(t.db, admin),
      input: { projectId, name: 'events', environment: 'design' },
      csv: text(`id,at,label,score\n1,2024-01-02T03:04:05Z,"${XSS.replace(/"/g, '""')}",1.5\n2,2024-02-01T00:00:00Z,"a,b",\n`),
    });
    key = (await createApiKey({ ctx: ctxFor(t.db, { type: 'system', name: 'test' }), input: { projectId, name: 'ci', scopes: ['read'] } })).secret;
    notebookId = (await a.notebooks.create({ projectId, name: 'NB' })).id;
    await setNotebookCells(t.db, notebookId, [
      { id: 'big', kind: 'sql', source: 'select g, g * 2 as h from generate_series(1, 100000) g' },
      { id: 'ev', kind: 'sql', source: '-- writes: ev2\nselect id, label from events order by id' },
      { id: 'typo', kind: 'sql', source: 'select nosuch\nfrom events' },
    ]);
    app = await buildApp({ db: t.db, driver: t.driver, role: 'api' });
  });
  afterAll(async () => {
    await app?.close();
    await disposeWithProjectRoles(t);
  });

  it('answers /query with typed columns, rows as arrays, truncated and elapsedMs', async () => {
    const r = await app.inject({ method: 'POST', url: `/api/v1/projects/${projectId}/query`, headers: auth(), payload: { sql: 'select id, at, label, score from events order by id', limit: 1 } });
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body.columns).toEqual([
      { name: 'id', type: 'integer' },
      { name: 'at', type: 'timestamp' },
      { name: 'label', type: 'text' },
      { name: 'score', type: 'numeric' },
    ]);
    expect(body.rows).toEqual([[1, '2024-01-02T03:04:05.000Z', XSS, 1.5]]);
    expect(body.truncated).toBe(true);
    expect(typeof body.elapsedMs).toBe('number');
    const all = (await app.inject({ method: 'POST', url: `/api/v1/projects/${projectId}/query`, headers: auth(), payload: { sql: 'select score from events order by id' } })).json();
    expect(all).toMatchObject({ rows: [[1.5], [null]], truncated: false });
  });

  it('refuses bad /query input with 400 naming the field or the line', async () => {
    const noSql = await app.inject({ method: 'POST', url: `/api/v1/projects/${projectId}/query`, headers: auth(), payload: { limit: 5 } });
    expect(noSql.statusCode).toBe(400);
    expect(noSql.json().error.field).toBe('sql');
    const tooMany = await app.inject({ method: 'POST', url: `/api/v1/projects/${projectId}/query`, headers: auth(), payload: { sql: 'select 1', limit: 10_001 } });
    expect(tooMany.statusCode).toBe(400);
    const typo = await app.inject({ method: 'POST', url: `/api/v1/projects/${projectId}/query`, headers: auth(), payload: { sql: 'select id,\n  nosuch from events' } });
    expect(typo.statusCode).toBe(400);
    expect(typo.json().error.message).toMatch(/nosuch.*\(line 2, column 3\)/);
  });

  it("streams a cell's full result as CSV and audits the download", async () => {
    const r = await app.inject({ method: 'GET', url: `/api/v1/projects/${projectId}/notebooks/${notebookId}/cells/big/result.csv`, headers: auth() });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/csv/);
    expect(r.headers['content-disposition']).toBe('attachment; filename="cell-big.csv"');
    const lines = r.body.trimEnd().split('\n');
    expect(lines).toHaveLength(100_001);
    expect(lines[0]).toBe('g,h');
    expect(lines[100_000]).toBe('100000,200000');
    const [audit] = await t.query(`select action, details from audit_events where action = 'notebook.result_download'`);
    expect(audit).toMatchObject({ details: { cellId: 'big' } });
  });

  it("streams up to 100,000 rows of a cell's result as NDJSON: columns, typed rows, then done", async () => {
    const rows = (cell: string, q = '') => app.inject({ method: 'GET', url: `/api/v1/projects/${projectId}/notebooks/${notebookId}/cells/${cell}/rows${q}`, headers: auth() });
    const r = await rows('big');
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const lines = r.body.trimEnd().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(lines[0]).toEqual({ columns: [{ name: 'g', type: 'integer' }, { name: 'h', type: 'integer' }] });
    expect(lines).toHaveLength(100_002);
    // generate_series(1, 100000) in order: row i is [i, 2i].
    for (const i of [1, 5_000, 5_001, 77_777, 100_000]) expect(lines[i]).toEqual([i, 2 * i]);
    expect(lines[100_001]).toEqual({ done: true, rows: 100_000 });
    // Timestamps and markup as in previews: ISO strings, text.
    const ev = (await app.inject({ method: 'GET', url: `/api/v1/projects/${projectId}/notebooks/${notebookId}/cells/ev/rows?limit=1`, headers: auth() })).body.trimEnd().split('\n');
    expect(ev.map((l) => JSON.parse(l) as unknown)).toEqual([{ columns: [{ name: 'id', type: 'integer' }, { name: 'label', type: 'text' }] }, [1, XSS], { done: true, rows: 1 }]);
  });

  it('refuses bad row-stream input with a 400 or 409 that says what was wrong', async () => {
    const rows = (cell: string, q = '') => app.inject({ method: 'GET', url: `/api/v1/projects/${projectId}/notebooks/${notebookId}/cells/${cell}/rows${q}`, headers: auth() });
    const tooMany = await rows('big', '?limit=100001');
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json().error.message).toMatch(/limit must be at most 100000/);
    const typo = await rows('typo');
    expect(typo.statusCode).toBe(400);
    expect(typo.json().error.message).toMatch(/nosuch.*\(line 1, column 8\)/);
    // An output from before the cell changed: its rows are gone, say so.
    const out = await callerFor(t.db, admin).notebooks.runCell({ projectId, notebookId, cellId: 'ev' });
    expect((await rows('ev', `?outputId=${out.outputId}`)).statusCode).toBe(200);
    await setNotebookCells(t.db, notebookId, [
      { id: 'big', kind: 'sql', source: 'select g, g * 2 as h from generate_series(1, 100000) g' },
      { id: 'ev', kind: 'sql', source: '-- writes: ev2\nselect id from events order by id' },
      { id: 'typo', kind: 'sql', source: 'select nosuch\nfrom events' },
    ]);
    const changed = await rows('ev', `?outputId=${out.outputId}`);
    expect(changed.statusCode).toBe(409);
    expect(changed.json().error.message).toMatch(/the cell changed since this output/);
    await setNotebookCells(t.db, notebookId, [
      { id: 'big', kind: 'sql', source: 'select g, g * 2 as h from generate_series(1, 100000) g' },
      { id: 'ev', kind: 'sql', source: '-- writes: ev2\nselect id, label from events order by id' },
      { id: 'typo', kind: 'sql', source: 'select nosuch\nfrom events' },
    ]);
  });

  it('quotes CSV values and leaves markup as text', async () => {
    const r = await app.inject({ method: 'GET', url: `/api/v1/projects/${projectId}/notebooks/${notebookId}/cells/ev/result.csv`, headers: auth() });
    expect(r.body).toBe(`id,label\n1,${XSS}\n2,"a,b"\n`);
  });

  it('downloads a dataset as CSV', async () => {
    const r = await app.inject({ method: 'GET', url: `/api/v1/projects/${projectId}/datasets/events/rows.csv`, headers: auth() });
    expect(r.statusCode).toBe(200);
    expect(r.body.split('\n')[0]).toBe('id,at,label,score');
    expect(r.body.split('\n')[1]).toBe(`1,2024-01-02 03:04:05+00,${XSS},1.5`);
    expect((await app.inject({ method: 'GET', url: `/api/v1/projects/${projectId}/datasets/nope/rows.csv`, headers: auth() })).statusCode).toBe(404);
  });

  it('lists /query and the downloads in the OpenAPI document', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/api/openapi.json' })).json();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/v1/projects/{projectId}/query', '/api/v1/projects/{projectId}/notebooks/{notebookId}/cells/{cellId}/result.csv', '/api/v1/projects/{projectId}/datasets/{name}/rows.csv']),
    );
  });
});
