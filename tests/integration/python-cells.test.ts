import { createReadStream } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { schemaNameOf } from '@/server/services/datasets/storage';
import { uploadDataset } from '@/server/services/datasets/upload-dataset';
import { connectTemporal, createWorkflowStarter } from '@/workflows/client';
import { createWorker } from '@/workflows/worker';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { creditDataCsv, disposeWithProjectRoles } from '../helpers/datasets';
import { openTestDatabase } from '../helpers/db';
import { python, setNotebookCells, sql, type TestCell } from '../helpers/pipeline';
import { pythonCellVenv } from '../helpers/python';
import { quietTemporalRuntime, uniqueTaskQueue, useTestTemporal, type TestTemporal } from '../helpers/temporal';

/**
 * Python cells end to end: real Python (the managed venv), real bubblewrap, real Postgres, real
 * Temporal. Over the uploaded credit data (4,454 rows, 381 without income).
 */
const CLEAN_ROWS = 4454 - 381;

let temporal: TestTemporal;
let client: Client;

beforeAll(async () => {
  pythonCellVenv();
  quietTemporalRuntime();
  temporal = await useTestTemporal();
  client = await connectTemporal(temporal.address, temporal.namespace);
}, 900_000);

afterAll(async () => {
  await client?.connection.close();
  await temporal?.stop();
}, 30_000);

describe('python cells on postgres with a real Temporal worker', () => {
  let env: Awaited<ReturnType<typeof setUp>>;

  async function setUp() {
    const t = await openTestDatabase('postgres');
    const taskQueue = uniqueTaskQueue('python-cells');
    const worker = await createWorker({ db: t.db, address: temporal.address, namespace: temporal.namespace, taskQueue });
    void worker.run();
    const editor = await newUser(t.db, 'editor');
    const workflows = createWorkflowStarter(client, taskQueue);
    const caller = callerFor(t.db, editor, { workflows });
    const team = await caller.teams.create({ name: 'Py team' });
    const projectId = (await caller.projects.create({ teamId: team.id, name: 'Py' })).id;
    await uploadDataset({ ctx: { ...ctxFor(t.db, editor), workflows }, input: { projectId, name: 'credit', environment: 'design' }, csv: createReadStream(creditDataCsv) });
    return { t, worker, caller, projectId };
  }

  beforeAll(async () => {
    env = await setUp();
  }, 120_000);

  afterAll(async () => {
    await env?.worker.shutdown();
    await disposeWithProjectRoles(env?.t);
  }, 60_000);

  const rowsOf = (query: string) => env.t.query(query.replaceAll('$schema', `"${schemaNameOf(env.projectId, 'design')}"`));

  async function buildAndWait(cells: TestCell[]) {
    const nb = await env.caller.notebooks.create({ projectId: env.projectId, name: `nb ${Math.random()}` });
    await setNotebookCells(env.t.db, nb.id, cells);
    const { runId } = await env.caller.builds.start({ projectId: env.projectId, notebookId: nb.id, target: { kind: 'all' } });
    await client.workflow.getHandle(`build-${runId}`).result();
    return { notebookId: nb.id, build: await env.caller.builds.get({ projectId: env.projectId, runId }) };
  }

  it('builds a pandas transform downstream of a SQL cell and publishes it with the pandas types, metrics and lineage', { timeout: 300_000 }, async () => {
    const { build } = await buildAndWait([
      sql('clean', 'clean', 'select row_number() over (order by seniority, age, amount, price, income, expenses, assets, debt, time) as id, * from credit where income is not null'),
      python(
        'ratios',
        ['clean'],
        'ratios',
        `ratios = clean[["id", "status", "home"]].copy()
ratios["ratio"] = clean["amount"] / clean["income"]
ratios["big"] = clean["amount"] > 1000
print("rows:", len(ratios))`,
      ),
    ]);
    expect(build.status, JSON.stringify(build.steps, null, 1)).toBe('succeeded');
    const step = build.steps.find((s) => s.stepId === 'ratios')!;
    expect(step).toMatchObject({ kind: 'python', dataset: 'ratios', rowCount: CLEAN_ROWS, after: ['clean'] });
    expect(step.log.join('\n')).toContain(`python> rows: ${CLEAN_ROWS}`);
    expect(step.log.join('\n')).toContain(`python: 4,073 rows in, 4,073 out (id, status, home, ratio, big)`);

    // Independent expectation: the same arithmetic in Postgres over the SQL cell's output.
    const [diff] = await rowsOf(`select count(*)::int as n, count(*) filter (where abs(r.ratio - c.amount::float8 / c.income) > 1e-9)::int as off,
        count(*) filter (where r.big <> (c.amount > 1000))::int as big_off, count(*) filter (where r.status is distinct from c.status or r.home is distinct from c.home)::int as text_off
        from $schema.ratios r join $schema.clean c using (id)`);
    expect(diff).toEqual({ n: CLEAN_ROWS, off: 0, big_off: 0, text_off: 0 });
    const meta = await env.caller.datasets.get({ projectId: env.projectId, name: 'ratios' });
    expect(meta.columns).toEqual([
      { name: 'id', type: 'integer', nullable: true },
      { name: 'status', type: 'text', nullable: true },
      { name: 'home', type: 'text', nullable: true },
      { name: 'ratio', type: 'numeric', nullable: true },
      { name: 'big', type: 'boolean', nullable: true },
    ]);
    // NULLs stay NULL through CSV and pandas (home has NULLs in the credit data).
    const [nulls] = await rowsOf('select (select count(*) from $schema.ratios where home is null)::int as py, (select count(*) from $schema.clean where home is null)::int as sql');
    expect(nulls!.py).toBe(nulls!.sql);
  });

  it('keeps timestamps and NULLs through pandas: a shifted timestamp column equals the same shift in SQL', { timeout: 300_000 }, async () => {
    const { build } = await buildAndWait([
      sql('stamps', 'stamps', "select i as id, case when i % 7 = 0 then null else timestamptz '2024-03-01 12:34:56.789+00' + i * interval '61 minutes' end as at, i % 2 = 0 as even from generate_series(1, 500) i"),
      python('shifted', ['stamps'], 'shifted', `shifted = stamps.assign(later=stamps["at"] + pd.Timedelta(days=1), naive=stamps["at"].dt.tz_localize(None))`),
    ]);
    expect(build.status, JSON.stringify(build.steps.map((s) => s.error))).toBe('succeeded');
    const [r] = await rowsOf(`select count(*)::int as n,
        count(*) filter (where s.later is distinct from t.at + interval '1 day')::int as later_off,
        count(*) filter (where s.naive is distinct from t.at)::int as naive_off,
        count(*) filter (where s.at is distinct from t.at or s.even is distinct from t.even)::int as same_off
        from $schema.shifted s join $schema.stamps t using (id)`);
    expect(r).toEqual({ n: 500, later_off: 0, naive_off: 0, same_off: 0 });
    const meta = await env.caller.datasets.get({ projectId: env.projectId, name: 'shifted' });
    expect(meta.columns.map((c) => [c.name, c.type])).toEqual([['id', 'integer'], ['at', 'timestamp'], ['even', 'boolean'], ['later', 'timestamp'], ['naive', 'timestamp']]);
  });

  it('previews a python cell under it (rows and profile) and maps a preview error to the cell line', { timeout: 300_000 }, async () => {
    const nb = await env.caller.notebooks.create({ projectId: env.projectId, name: 'preview' });
    await setNotebookCells(env.t.db, nb.id, [
      python('homes', ['credit'], 'homes', `homes = credit.groupby("home", dropna=False).size().reset_index(name="n").sort_values("n", ascending=False)`),
      python('broken', ['credit'], 'broken', `a = 1\nb = credit["nope"]`),
    ]);
    const out = await env.caller.notebooks.runCell({ projectId: env.projectId, notebookId: nb.id, cellId: 'homes', limit: 100 });
    expect(out.status, JSON.stringify(out.error)).toBe('ok');
    expect(out.columns.map((c) => c.name)).toEqual(['home', 'n']);
    const truth = await rowsOf('select home, count(*)::int as n from $schema.credit group by home order by n desc, home');
    expect(out.rows.map((r) => [r[0], Number(r[1])]).sort()).toEqual(truth.map((r) => [r.home, r.n]).sort());
    expect(out.profile?.map((p) => p.name)).toEqual(['home', 'n']);
    expect(await rowsOf(`select tablename from pg_tables where tablename like '_sb_preview_%'`)).toEqual([]);

    const bad = await env.caller.notebooks.runCell({ projectId: env.projectId, notebookId: nb.id, cellId: 'broken', limit: 100 });
    expect(bad.status).toBe('error');
    expect(bad.error).toMatchObject({ line: 4 });
    expect(bad.error!.message).toMatch(/^KeyError: 'nope'/);
  });

  it('fails the step with the traceback mapped to the cell line, and with a clear message when the cell yields no DataFrame', { timeout: 300_000 }, async () => {
    const { build } = await buildAndWait([
      python('typo', ['credit'], 'typo_out', `x = credit.copy()\n\ny = x["no_such_column"]\ny`),
      python('nothing', ['credit'], 'nothing_out', `n = len(credit)`),
      python('syntax', ['credit'], 'syntax_out', `def f(:\n  pass`),
    ]);
    expect(build.status).toBe('failed');
    const err = (id: string) => build.steps.find((s) => s.stepId === id)!.error ?? '';
    // Header lines count: the KeyError is on line 5 of the cell. The cell is named by what it makes, not its id.
    expect(err('typo')).toMatch(/^typo_out: line 5: KeyError: 'no_such_column'/);
    expect(err('typo')).toContain('File "<cell>", line 5');
    expect(err('typo')).not.toContain('runner.py');
    expect(err('nothing')).toBe('nothing_out: the cell must end with a DataFrame or assign one to "nothing_out" (got nothing)');
    expect(err('syntax')).toMatch(/^syntax_out: line 3: SyntaxError/);
  });
});
