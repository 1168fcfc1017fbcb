import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '@/server/app';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import type { Actor } from '@/server/services/context';
import { uploadDataset } from '@/server/services/datasets/upload-dataset';
import { TS_PREVIEW_INPUT_ROWS } from '@/server/services/notebooks/preview-ts';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { setNotebookCells, ts } from '../helpers/pipeline';

/**
 * A ts cell previews on the first 10,000 rows of each input, and says so; Show all (the NDJSON row
 * stream) and Download CSV run it on every row. The input has 25,000 rows; the cell keeps the even
 * ids, so the full result has 12,500 rows, which the expectations compute without the cell.
 */
const N = 25_000;
const evens = Array.from({ length: N / 2 }, (_, i) => 2 * (i + 1));
const keepEven = 'export default function (rows: { id: number }[], emit: (r: object) => void) {\n  for (const r of rows) if (r.id % 2 === 0) emit({ id: r.id, sq: r.id * r.id });\n}';

async function* text(s: string) {
  yield Buffer.from(s);
}

describe('a ts cell’s full result: Show all and Download CSV run it on every row (Postgres)', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let editor: Extract<Actor, { type: 'user' }>;
  let projectId: string;
  let notebookId: string;
  let key: string;
  const url = (cell: string, what: string) => `/api/v1/projects/${projectId}/notebooks/${notebookId}/cells/${cell}/${what}`;
  const scratchTables = async () => (await t.query(`select tablename from pg_tables where tablename like '\\_sb\\_preview\\_%'`)).length;

  beforeAll(async () => {
    t = await openTestDatabase('postgres');
    editor = await newUser(t.db, 'editor');
    const a = callerFor(t.db, editor);
    const team = await a.teams.create({ name: 'TS' });
    projectId = (await a.projects.create({ teamId: team.id, name: 'P' })).id;
    const csv = `id,label\n${Array.from({ length: N }, (_, i) => `${i + 1},r${i + 1}`).join('\n')}\n`;
    await uploadDataset({ ctx: ctxFor(t.db, editor), input: { projectId, name: 'nums', environment: 'design' }, csv: text(csv) });
    await uploadDataset({ ctx: ctxFor(t.db, editor), input: { projectId, name: 'few', environment: 'design' }, csv: text('id,label\n1,a\n2,b\n3,c\n4,d\n') });
    key = (await createApiKey({ ctx: ctxFor(t.db, { type: 'system', name: 'test' }), input: { projectId, name: 'ci', scopes: ['read'] } })).secret;
    notebookId = (await a.notebooks.create({ projectId, name: 'NB' })).id;
    await setNotebookCells(t.db, notebookId, [ts('even', ['nums'], 'even_nums', keepEven), ts('small', ['few'], 'even_few', keepEven)]);
    app = await buildApp({ db: t.db, driver: t.driver, role: 'api' });
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await disposeWithProjectRoles(t);
  });

  it('previews on a sample and names the inputs it cut short; an input within the sample is not named', async () => {
    const out = await callerFor(t.db, editor).notebooks.runCell({ projectId, notebookId, cellId: 'even', limit: 100 });
    expect(out.status).toBe('ok');
    expect(out.sampledInputs).toEqual(['nums']);
    // The first 10,000 input rows hold 5,000 even ids: the preview's count is the sample's, not the full 12,500.
    expect(out.totalRows).toBe(TS_PREVIEW_INPUT_ROWS / 2);
    const small = await callerFor(t.db, editor).notebooks.runCell({ projectId, notebookId, cellId: 'small' });
    expect(small.sampledInputs).toBeUndefined();
    expect(small.rows).toEqual([
      [2, 4],
      [4, 16],
    ]);
  });

  it('streams the full result as NDJSON (Show all), then drops its scratch table', async () => {
    const r = await app.inject({ method: 'GET', url: url('even', 'rows'), headers: { authorization: `Bearer ${key}` } });
    expect(r.statusCode).toBe(200);
    const lines = r.body.trimEnd().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(lines[0]).toEqual({ columns: [expect.objectContaining({ name: 'id' }), expect.objectContaining({ name: 'sq' })] });
    expect(lines.at(-1)).toEqual({ done: true, rows: N / 2 });
    const rows = lines.slice(1, -1) as [number, number][];
    expect(rows.map((row) => row[0]).sort((x, y) => x - y)).toEqual(evens);
    expect(rows.every(([id, sq]) => Number(sq) === id * id)).toBe(true);
    await expect.poll(scratchTables).toBe(0);
  });

  it('downloads the full result as CSV (every input row, not the preview’s sample), then drops its scratch table', async () => {
    const r = await app.inject({ method: 'GET', url: url('even', 'result.csv'), headers: { authorization: `Bearer ${key}` } });
    expect(r.statusCode).toBe(200);
    const [header, ...body] = r.body.trimEnd().split('\n');
    expect(header).toBe('id,sq');
    expect(body.map((l) => Number(l.split(',')[0])).sort((x, y) => x - y)).toEqual(evens);
    await expect.poll(scratchTables).toBe(0);
  });
});
