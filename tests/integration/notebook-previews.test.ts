import * as Y from 'yjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { teamMembers } from '@/db/schema';
import { cellOutputRefOf, cellSource, findCell } from '@/server/domain/notebook-doc';
import { applyNotebookSnapshot } from '@/server/domain/notebook-snapshot';
import type { Actor } from '@/server/services/context';
import { appendRows } from '@/server/services/datasets/append-rows';
import { uploadDataset } from '@/server/services/datasets/upload-dataset';
import type { LiveNotebooks } from '@/server/services/notebooks/live';
import { runCell } from '@/server/services/notebooks/run-cell';
import { loadStoredUpdate } from '@/server/services/notebooks/storage';
import { callerFor, ctxFor, newUser, trpcCode } from '../helpers/api';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { setNotebookCells, type TestCell } from '../helpers/pipeline';

async function* text(s: string) {
  yield Buffer.from(s);
}

const XSS = '<img src=x onerror=alert(1)>';
// 300 loans; the expectations below are computed from this array, independently of the SQL.
const loans = Array.from({ length: 300 }, (_, i) => ({
  id: i + 1,
  amount: i % 10 === 0 ? null : (i * 37) % 1000,
  grade: ['a', 'b', 'c', 'd'][i % 4]! + (i % 7 === 0 ? 'x' : ''),
  note: i === 5 ? XSS : `n${i % 3}`,
}));
const csv = 'id,amount,grade,note\n' + loans.map((l) => `${l.id},${l.amount ?? ''},${l.grade},"${l.note.replace(/"/g, '""')}"`).join('\n') + '\n';

const cells: TestCell[] = [
  { id: 'clean', kind: 'sql', source: '-- writes: clean\nselect id, amount, grade, note from loans order by id' },
  { id: 'scratch', kind: 'sql', source: 'select grade, count(*) as n from loans group by grade order by grade' },
  { id: 'two', kind: 'sql', source: 'select 1;\ndelete from loans' },
  { id: 'typo', kind: 'sql', source: '-- writes: typo\nselect id,\n  nosuch from loans' },
  { id: 'sleepy', kind: 'sql', source: 'select pg_sleep(20)' },
  { id: 'wide', kind: 'sql', source: "select g, repeat('x', 10000) as s from generate_series(1, 1000) g" },
  { id: 'huge', kind: 'sql', source: "select g, g % 3 = 0 as b, 'v' || (g % 5) as t, case when g % 4 = 0 then null else g end as h from generate_series(1, 200000) g" },
  { id: 'many', kind: 'sql', source: 'select g as x, g % 7 as y from generate_series(1, 20000) g' },
  { id: 'downstream', kind: 'sql', source: '-- writes: later\nselect * from clean' },
  { id: 'doubler', kind: 'ts', source: '// inputs: loans\n// output: doubled\nexport default function (rows: any[], emit: any) { for (const r of rows) emit({ id: r.id, twice: r.amount === null ? null : r.amount * 2 }); }' },
  { id: 'train', kind: 'train', source: 'model: m\ndataset: loans\ntarget: grade\npositiveClass: a' },
];

describe('notebook previews (Postgres)', () => {
  let t: TestDatabase;
  let editor: Extract<Actor, { type: 'user' }>;
  let viewer: Extract<Actor, { type: 'user' }>;
  let projectId: string;
  let notebookId: string;
  const ref = (cellId: string) => ({ projectId, notebookId, cellId });

  beforeAll(async () => {
    t = await openTestDatabase('postgres');
    editor = await newUser(t.db, 'editor');
    viewer = await newUser(t.db, 'viewer');
    const a = callerFor(t.db, editor);
    const team = await a.teams.create({ name: 'Previews' });
    await t.db.insert(teamMembers).values({ teamId: team.id, userId: viewer.userId, role: 'viewer' });
    projectId = (await a.projects.create({ teamId: team.id, name: 'P' })).id;
    await uploadDataset({ ctx: ctxFor(t.db, editor), input: { projectId, name: 'loans', environment: 'design' }, csv: text(csv) });
    notebookId = (await a.notebooks.create({ projectId, name: 'NB' })).id;
    await setNotebookCells(t.db, notebookId, cells);
  });
  afterAll(async () => {
    await disposeWithProjectRoles(t);
  });

  it('previews a SQL cell: limited rows, the total of the full result, typed columns, values as plain strings', async () => {
    const out = await callerFor(t.db, editor).notebooks.runCell({ ...ref('clean'), limit: 10 });
    expect(out.status).toBe('ok');
    expect(out.columns).toEqual([
      { name: 'id', type: 'integer' },
      { name: 'amount', type: expect.stringMatching(/integer|numeric/) },
      { name: 'grade', type: 'text' },
      { name: 'note', type: 'text' },
    ]);
    expect(out.rows).toHaveLength(10);
    expect(out.totalRows).toBe(loans.length);
    expect(out.limited).toBe(true);
    expect(out.rows[0]).toEqual([1, null, 'ax', 'n0']);
    expect(out.rows[5]).toEqual([6, 185, 'b', XSS]);
    expect(out.ranBy).toEqual({ id: editor.userId, name: editor.name });
    expect(out.inputs).toEqual([{ name: 'loans', state: 'built' }]);
  });

  it('profiles every column in SQL over the whole result, not over the fetched rows', async () => {
    const out = await callerFor(t.db, editor).notebooks.runCell({ ...ref('clean'), limit: 5 });
    const amount = out.profile!.find((p) => p.name === 'amount')!;
    const values = loans.map((l) => l.amount).filter((v): v is number => v !== null);
    expect(amount.rows).toBe(300);
    expect(amount.nullCount).toBe(loans.length - values.length);
    expect(amount.min).toBe(Math.min(...values));
    expect(amount.max).toBe(Math.max(...values));
    expect(amount.mean).toBeCloseTo(values.reduce((s, v) => s + v, 0) / values.length, 6);
    expect(amount.distinctCount).toBe(new Set(values).size);
    expect(amount.sampled).toBe(false);
    expect(amount.histogram!.reduce((s, b) => s + b.count, 0)).toBe(values.length);
    const lowest = Math.min(...values);
    const width = (Math.max(...values) - lowest) / amount.histogram!.length;
    expect(amount.histogram![0]!.count).toBe(values.filter((v) => v < lowest + width).length);
    const grade = out.profile!.find((p) => p.name === 'grade')!;
    const counts = new Map<string, number>();
    for (const l of loans) counts.set(l.grade, (counts.get(l.grade) ?? 0) + 1);
    const expected = [...counts].sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0])).slice(0, 10).map(([value, count]) => ({ value, count }));
    expect(grade.topValues).toEqual(expected);
    expect(grade.distinctCount).toBe(counts.size);
    expect(grade.histogram).toBeNull();
  });

  it('profiles a large result from a labelled sample: exact counts and bounds, scaled histograms and top values', async () => {
    const out = await callerFor(t.db, editor).notebooks.runCell({ ...ref('huge'), limit: 100 });
    expect(out.totalRows).toBe(200_000);
    const [g, b, tx, h] = out.profile!;
    expect(g).toMatchObject({ name: 'g', sampled: true, rows: 200_000, nullCount: 0, min: 1, max: 200_000, mean: 100_000.5 });
    expect(g!.distinctCount).toBeGreaterThan(160_000);
    expect(g!.distinctCount).toBeLessThanOrEqual(200_000);
    const total = g!.histogram!.reduce((s, x) => s + x.count, 0);
    expect(Math.abs(total - 200_000)).toBeLessThan(200);
    for (const bin of g!.histogram!) expect(Math.abs(bin.count - 10_000)).toBeLessThan(1_500);
    expect(b!.topValues!.find((x) => x.value === 'true')!.count / 200_000).toBeCloseTo(1 / 3, 1);
    expect(tx!.distinctCount).toBe(5);
    for (const v of tx!.topValues!) expect(Math.abs(v.count - 40_000)).toBeLessThan(3_000);
    expect(h).toMatchObject({ nullCount: 50_000, min: 1, max: 199_999 });
  });

  it('profiles a result that fits in the page exactly, from the rows in hand', async () => {
    const out = await callerFor(t.db, editor).notebooks.runCell(ref('scratch'));
    const n = out.profile!.find((p) => p.name === 'n')!;
    const sizes = out.rows.map((r) => Number(r[1]));
    expect(n).toMatchObject({ sampled: false, rows: sizes.length, nullCount: 0, min: Math.min(...sizes), max: Math.max(...sizes), distinctCount: new Set(sizes).size });
    expect(out.profile!.find((p) => p.name === 'grade')!.topValues!.every((v) => v.count === 1)).toBe(true);
  });

  it('stores the output for everyone: a viewer reads it back and cannot run cells', async () => {
    const ran = await callerFor(t.db, editor).notebooks.runCell(ref('scratch'));
    const v = callerFor(t.db, viewer);
    const back = await v.notebooks.cellOutput(ref('scratch'));
    expect(back).toEqual({ ...ran, stale: false, staleReason: null });
    const all = await v.notebooks.outputs({ projectId, notebookId });
    expect(all.outputs.map((o) => o.cellId)).toContain('scratch');
    expect(await v.notebooks.cellOutput(ref('downstream'))).toBeNull();
    expect(await trpcCode(v.notebooks.runCell(ref('scratch')))).toBe('FORBIDDEN');
    // A scratch query (no `-- writes:`) ran like any other, and wrote nothing.
    expect(ran.rows).toEqual(['a', 'ax', 'b', 'bx', 'c', 'cx', 'd', 'dx'].filter((g) => loans.some((l) => l.grade === g)).map((g) => [g, loans.filter((l) => l.grade === g).length]));
  });

  it('marks an output stale when the source changes, and when an input\'s data changes', async () => {
    const e = callerFor(t.db, editor);
    await e.notebooks.runCell(ref('scratch'));
    await e.notebooks.runCell(ref('clean'));
    await setNotebookCells(t.db, notebookId, cells.map((c) => (c.id === 'scratch' ? { ...c, source: `${c.source} -- edited` } : c)));
    expect(await e.notebooks.cellOutput(ref('scratch'))).toMatchObject({ stale: true, staleReason: 'source' });
    expect(await e.notebooks.cellOutput(ref('clean'))).toMatchObject({ stale: false, staleReason: null });
    await appendRows({ ctx: ctxFor(t.db, editor), input: { projectId, name: 'loans', environment: 'design', rows: [{ id: 1000, amount: 1, grade: 'z', note: 'late' }] } });
    expect(await e.notebooks.cellOutput(ref('clean'))).toMatchObject({ stale: true, staleReason: 'inputs' });
    const again = await e.notebooks.runCell(ref('clean'));
    expect(again.totalRows).toBe(loans.length + 1);
    expect(await e.notebooks.cellOutput(ref('clean'))).toMatchObject({ outputId: again.outputId, stale: false });
    await setNotebookCells(t.db, notebookId, cells);
  });

  it('runs the source the collaboration server holds, not what storage or the client says', async () => {
    const stored = await callerFor(t.db, editor).notebooks.get({ projectId, notebookId });
    const doc = new Y.Doc();
    applyNotebookSnapshot(doc, { cells: stored.snapshot.cells.map((c) => (c.id === 'scratch' ? { ...c, source: "select 'live' as origin" } : c)) });
    const live: LiveNotebooks = { currentState: (id) => (id === notebookId ? Y.encodeStateAsUpdate(doc) : null), applyStored: () => {}, evict: () => {} };
    const out = await callerFor(t.db, editor, { liveNotebooks: live }).notebooks.runCell(ref('scratch'));
    expect(out.rows).toEqual([['live']]);
  });

  it('waits for the edit the runner made just before Run, instead of running the text from before it', async () => {
    const stored = await callerFor(t.db, editor).notebooks.get({ projectId, notebookId });
    const server = new Y.Doc();
    applyNotebookSnapshot(server, { cells: stored.snapshot.cells });
    // The runner's browser: a replica of the server's document, then a keystroke the socket has not delivered yet.
    const browser = new Y.Doc();
    Y.applyUpdate(browser, Y.encodeStateAsUpdate(server));
    const pending: Uint8Array[] = [];
    browser.on('update', (u: Uint8Array) => pending.push(u));
    const scratch = cellSource(browser, 'scratch')!;
    browser.transact(() => {
      scratch.delete(0, scratch.length);
      scratch.insert(0, "select 'typed' as origin");
    });
    const seen = Buffer.from(Y.encodeStateVector(browser)).toString('base64');
    const live: LiveNotebooks = { currentState: (id) => (id === notebookId ? Y.encodeStateAsUpdate(server) : null), applyStored: () => {}, evict: () => {} };
    const caller = callerFor(t.db, editor, { liveNotebooks: live });
    // The edit reaches the server 300 ms after Run was pressed.
    setTimeout(() => pending.forEach((u) => Y.applyUpdate(server, u)), 300);
    expect((await caller.notebooks.runCell({ ...ref('scratch'), seen })).rows).toEqual([['typed']]);
    // An edit that never arrives: a clear error, nothing run.
    const lost = new Y.Doc();
    lost.getText('x').insert(0, 'offline');
    const never = Buffer.from(Y.encodeStateVector(lost)).toString('base64');
    await expect(runCell({ ctx: ctxFor(t.db, editor, { liveNotebooks: live }), input: { ...ref('scratch'), limit: 10, seen: never }, seenWaitMs: 200 })).rejects.toThrow(/have not reached the server yet/);
    expect(await trpcCode(caller.notebooks.runCell({ ...ref('scratch'), seen: 'not base64!' }))).toBe('BAD_REQUEST');
  });

  it('points the cell at its new output itself: stored with the output and handed to the live document before answering', async () => {
    // The live document (as the collab server holds it) starts from storage; collaborators get what it applies.
    const server = new Y.Doc();
    Y.applyUpdate(server, await loadStoredUpdate(t.db, notebookId));
    const live: LiveNotebooks = { currentState: (id) => (id === notebookId ? Y.encodeStateAsUpdate(server) : null), applyStored: (id, u) => id === notebookId && Y.applyUpdate(server, u), evict: () => {} };
    const refOf = (doc: Y.Doc) => cellOutputRefOf(findCell(doc, 'scratch')!);
    const out = await callerFor(t.db, editor, { liveNotebooks: live }).notebooks.runCell(ref('scratch'));
    expect(refOf(server)).toEqual({ outputId: out.outputId, ranAt: out.ranAt });
    const stored = new Y.Doc();
    Y.applyUpdate(stored, await loadStoredUpdate(t.db, notebookId));
    expect(refOf(stored)).toEqual({ outputId: out.outputId, ranAt: out.ranAt });
    // Without a live document (another process holds it, or nobody has it open): storage alone.
    const again = await callerFor(t.db, editor).notebooks.runCell(ref('scratch'));
    Y.applyUpdate(stored, await loadStoredUpdate(t.db, notebookId));
    expect(refOf(stored)?.outputId).toBe(again.outputId);
  });

  it('refuses a preview that is not one SELECT, and runs nothing of it', async () => {
    const out = await callerFor(t.db, editor).notebooks.runCell(ref('two'));
    expect(out.status).toBe('error');
    expect(out.error!.message).toMatch(/one statement|single|statements/i);
    expect(out.rows).toEqual([]);
    const [n] = await t.query(`select count(*)::int as n from p_${projectId.replace(/-/g, '')}_design.loans`);
    expect(n!.n).toBeGreaterThanOrEqual(loans.length);
  });

  it("maps Postgres' error position to the cell's line and column", async () => {
    const out = await callerFor(t.db, editor).notebooks.runCell(ref('typo'));
    expect(out.status).toBe('error');
    expect(out.error).toEqual({ message: expect.stringContaining('nosuch'), line: 3, column: 3 });
  });

  it('says which input is not built yet', async () => {
    const out = await callerFor(t.db, editor).notebooks.runCell(ref('downstream'));
    expect(out.inputs).toEqual([{ name: 'clean', state: 'unbuilt' }]);
    expect(out.error!.message).toContain('not built yet: clean');
  });

  it('cancels a runaway query at the timeout and says so', async () => {
    const started = Date.now();
    const out = await runCell({ ctx: ctxFor(t.db, editor), input: { ...ref('sleepy'), limit: 10 }, timeoutMs: 500 });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(out.status).toBe('error');
    expect(out.error!.message).toMatch(/longer than 500 ms and was cancelled \(statement timeout\)/);
  });

  it('caps a large stored output and marks it truncated', async () => {
    const out = await callerFor(t.db, editor).notebooks.runCell({ ...ref('wide'), limit: 1000 });
    expect(out.truncated).toBe(true);
    expect(out.totalRows).toBe(1000);
    expect(out.rows.length).toBeGreaterThan(0);
    expect(out.rows.length).toBeLessThan(1000);
    expect(JSON.stringify(out).length).toBeLessThanOrEqual(2 * 1024 * 1024);
    expect((await callerFor(t.db, viewer).notebooks.cellOutput(ref('wide')))!.truncated).toBe(true);
  });

  it('previews a ts cell in the QuickJS sandbox on its inputs', async () => {
    const out = await callerFor(t.db, editor).notebooks.runCell({ ...ref('doubler'), limit: 3 });
    expect(out.status).toBe('ok');
    expect(out.columns.map((c) => c.name)).toEqual(['id', 'twice']);
    expect(out.totalRows).toBeGreaterThanOrEqual(loans.length);
    const first = out.rows.find((r) => r[0] === 2)!;
    expect(first[1]).toBe(loans[1]!.amount! * 2);
    // The scratch table it ran into is gone and is no dataset.
    const left = await t.query(`select tablename from pg_tables where tablename like '_sb_preview_%'`);
    expect(left).toEqual([]);
    expect((await callerFor(t.db, editor).datasets.list({ projectId })).map((d: { name: string }) => d.name)).toEqual(['loans']);
  });

  it('refuses to preview a cell kind that has no result', async () => {
    expect(await trpcCode(callerFor(t.db, editor).notebooks.runCell(ref('train')))).toBe('BAD_REQUEST');
    expect(await trpcCode(callerFor(t.db, editor).notebooks.runCell(ref('nope')))).toBe('NOT_FOUND');
  });

  it('aggregates chart data in SQL over the whole result, matching an independent computation', async () => {
    const v = callerFor(t.db, viewer);
    const sums = await v.notebooks.chartData({ ...ref('clean'), spec: { type: 'bar', x: 'grade', y: 'amount', aggregate: 'sum' } });
    expect(sums.error).toBeNull();
    expect(sums.aggregated).toBe(true);
    const all = [...loans, { id: 1000, amount: 1, grade: 'z', note: 'late' }];
    const expected = new Map<string, number>();
    for (const l of all) if (l.amount !== null) expected.set(l.grade, (expected.get(l.grade) ?? 0) + l.amount);
    expect(Object.fromEntries(sums.rows.map((r) => [r.grade, r.amount]))).toEqual(Object.fromEntries(expected));
    const counts = await v.notebooks.chartData({ ...ref('clean'), spec: { type: 'bar', x: 'grade', aggregate: 'count' } });
    expect(counts.rows.reduce((s, r) => s + Number(r.count), 0)).toBe(all.length);
    const hist = await v.notebooks.chartData({ ...ref('clean'), spec: { type: 'histogram', x: 'amount' } });
    expect(hist.rows.reduce((s, r) => s + Number(r.count), 0)).toBe(all.filter((l) => l.amount !== null).length);
    const scatter = await v.notebooks.chartData({ ...ref('many'), spec: { type: 'scatter', x: 'x', y: 'y' } });
    expect(scatter).toMatchObject({ sampled: true, aggregated: false, error: null });
    expect(scatter.rows).toHaveLength(5000);
    for (const r of scatter.rows.slice(0, 50)) expect(r.y).toBe(Number(r.x) % 7);
  });

  it('says in the chart data which column is missing instead of failing', async () => {
    const r = await callerFor(t.db, viewer).notebooks.chartData({ ...ref('clean'), spec: { type: 'line', x: 'grade', y: 'nope', aggregate: 'sum' } });
    expect(r.rows).toEqual([]);
    expect(r.error).toContain('"nope"');
  });

  it('keeps the latest three outputs of a cell, and leaves out the outputs of deleted cells', async () => {
    const e = callerFor(t.db, editor);
    for (let i = 0; i < 4; i++) await e.notebooks.runCell(ref('scratch'));
    const [kept] = await t.query(`select count(*)::int as n from notebook_cell_outputs where notebook_id = '${notebookId}' and cell_id = 'scratch'`);
    expect(kept!.n).toBe(3);
    expect((await e.notebooks.outputs({ projectId, notebookId })).outputs.map((o) => o.cellId)).toContain('wide');
    await setNotebookCells(t.db, notebookId, cells.filter((c) => c.id !== 'wide'));
    expect((await e.notebooks.outputs({ projectId, notebookId })).outputs.map((o) => o.cellId)).not.toContain('wide');
    await setNotebookCells(t.db, notebookId, cells);
  });

  it('profiles a dataset at upload, and again on demand once rows were appended (datasets.profile)', async () => {
    const history = await callerFor(t.db, viewer).datasets.metrics({ projectId, name: 'loans' });
    expect(history[0]).toMatchObject({ runId: null, rowCount: loans.length });
    expect(history[0]!.columns.find((c) => c.name === 'amount')).toMatchObject({ nullCount: loans.filter((l) => l.amount === null).length });
    const r = await callerFor(t.db, viewer).datasets.profile({ projectId, name: 'loans' });
    const note = r.profile.find((p) => p.name === 'note')!;
    expect(note.topValues!.map((x) => x.value)).toContain('n0');
    expect(r.profile.find((p) => p.name === 'id')!.max).toBe(1000);
  });
});
