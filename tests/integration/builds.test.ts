import { createReadStream } from 'node:fs';
import { and, asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { auditEvents, buildSteps, datasetMetrics, datasets } from '@/db/schema';
import type { Actor } from '@/server/services/context';
import { runBuildStep, DEFAULT_BUILD_STEP_OPTIONS } from '@/server/services/builds/run-build-step';
import { schemaNameOf } from '@/server/services/datasets/storage';
import { uploadDataset } from '@/server/services/datasets/upload-dataset';
import { createWorkflowStarter } from '@/workflows/client';
import { createWorker } from '@/workflows/worker';
import { callerFor, ctxFor, newUser, trpcCode } from '../helpers/api';
import { creditDataCsv, disposeWithProjectRoles } from '../helpers/datasets';
import { drivers, openTestDatabase, type Driver } from '../helpers/db';
import { check, setNotebookCells, sql, ts, type TestCell } from '../helpers/pipeline';
import { temporalForFile, uniqueTaskQueue } from '../helpers/temporal';

/**
 * The pipeline of these tests, over the uploaded credit data (4,454 rows, 381 without income):
 *
 *   credit --> clean --+--> by_home --+--> summary
 *                      +--> by_job ---+
 *                      +--> scored (ts)
 * with checks on clean (error and warning), on scored (custom SQL) and on the source itself.
 */
const CLEAN_ROWS = 4454 - 381;
const diamond: TestCell[] = [
  sql('clean', 'clean', 'select row_number() over (order by seniority, age, amount, price, income, expenses, assets, debt, time) as id, * from credit where income is not null'),
  sql('by_home', 'by_home', 'select home, count(*) as n, avg(amount) as avg_amount from clean group by home'),
  sql('by_job', 'by_job', 'select job, count(*) as n from clean group by job'),
  sql('summary', 'summary', 'select (select sum(n) from by_home) as home_total, (select sum(n) from by_job) as job_total, (select count(*) from by_home) as homes'),
  ts(
    'scored',
    ['clean'],
    'scored',
    `type Row = { id: number; status: string; amount: number; income: number };
export default function (rows: Row[], emit: (r: object) => void) {
  for (const r of rows) emit({ id: r.id, status: r.status, ratio: r.amount / r.income, big: r.amount > 1000 });
}`,
  ),
  check(
    'check_clean',
    `dataset: clean
checks:
  - type: row_count
    min: 1000
  - type: null_rate
    column: income
    max: 0
  - type: unique
    columns: [id]
  - type: accepted_values
    column: home
    values: [owner, rent, parents, other, priv]
    severity: warning
  - type: value_range
    column: amount
    min: 0`,
  ),
  check(
    'check_scored',
    `dataset: scored
checks:
  - type: custom_sql
    name: no_negative_ratio
    sql: select * from scored where ratio < 0`,
  ),
  check(
    'check_credit',
    `dataset: credit
checks:
  - type: row_count
    min: 4000`,
  ),
  { id: 'notes', kind: 'markdown', source: '# Credit pipeline' },
];

const tc = temporalForFile();

async function setUp(driver: Driver) {
  const t = await openTestDatabase(driver);
  const taskQueue = uniqueTaskQueue(`builds-${driver}`);
  const worker = await createWorker({
    db: t.db,
    address: tc.temporal.address,
    namespace: tc.temporal.namespace,
    taskQueue,
    build: { step: { tsCell: { ...DEFAULT_BUILD_STEP_OPTIONS.tsCell, callTimeMs: 2_000 } } },
  });
  void worker.run();
  const editor = await newUser(t.db, 'editor');
  const workflows = createWorkflowStarter(tc.client, taskQueue);
  const caller = callerFor(t.db, editor, { workflows });
  const team = await caller.teams.create({ name: 'Credit team' });
  const projectId = (await caller.projects.create({ teamId: team.id, name: 'Credit' })).id;
  await uploadDataset({ ctx: { ...ctxFor(t.db, editor), workflows }, input: { projectId, name: 'credit', environment: 'design' }, csv: createReadStream(creditDataCsv) });
  return { t, worker, editor, caller, projectId, teamId: team.id, workflows };
}

type Env = Awaited<ReturnType<typeof setUp>>;

async function newNotebook(env: Env, name: string, cells: TestCell[]): Promise<string> {
  const nb = await env.caller.notebooks.create({ projectId: env.projectId, name });
  await setNotebookCells(env.t.db, nb.id, cells);
  return nb.id;
}

async function buildAndWait(env: Env, notebookId: string, target: { kind: 'all' } | { kind: 'cell' | 'downstream'; cellId: string } = { kind: 'all' }) {
  const { runId } = await env.caller.builds.start({ projectId: env.projectId, notebookId, target });
  await tc.client.workflow.getHandle(`build-${runId}`).result();
  return env.caller.builds.get({ projectId: env.projectId, runId });
}

const rowsOf = async (env: Env, query: string) => env.t.query(query.replaceAll('$schema', `"${schemaNameOf(env.projectId, 'design')}"`));
const stagingTables = async (env: Env) =>
  (await env.t.query(`select tablename from pg_tables where schemaname = $1 and tablename like '\\_sb\\_%'`, [schemaNameOf(env.projectId, 'design')])).map((r) => r.tablename);

describe.each(drivers)('builds on %s with a real Temporal worker', (driver) => {
  let env: Env;
  let notebookId: string;

  beforeAll(async () => {
    env = await setUp(driver);
    notebookId = await newNotebook(env, 'Pipeline', diamond);
  }, 120_000);

  afterAll(async () => {
    await env?.worker.shutdown();
    await disposeWithProjectRoles(env?.t);
  }, 60_000);

  it('compiles the live notebook into a graph with no diagnostics', async () => {
    const compiled = await env.caller.pipeline.compile({ projectId: env.projectId, notebookId });
    expect(compiled.diagnostics).toEqual([]);
    expect(compiled.ok).toBe(true);
    expect(compiled.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(compiled.graph.steps.map((s) => s.cellId).sort()).toEqual(['by_home', 'by_job', 'check_clean', 'check_credit', 'check_scored', 'clean', 'scored', 'summary']);
  });

  it('builds the whole diamond with a ts cell and checks, publishing correct data, metrics, logs and audit', { timeout: 120_000 }, async () => {
    const build = await buildAndWait(env, notebookId);
    expect(build.status, JSON.stringify(build.steps, null, 1)).toBe('succeeded');
    expect(build.steps.map((s) => [s.stepId, s.status])).toEqual([
      ['check_credit', 'succeeded'],
      ['clean', 'succeeded'],
      ['by_home', 'succeeded'],
      ['by_job', 'succeeded'],
      ['scored', 'succeeded'],
      ['summary', 'succeeded'],
    ]);
    const step = (id: string) => build.steps.find((s) => s.stepId === id)!;
    expect(step('clean')).toMatchObject({ kind: 'sql', dataset: 'clean', rowCount: CLEAN_ROWS, after: [] });
    expect(step('summary').after).toEqual(['by_home', 'by_job']);
    expect(step('clean').checks).toMatchObject([
      { name: 'row_count', severity: 'error', passed: true, detail: `${CLEAN_ROWS.toLocaleString('en-US')} rows (expected at least 1,000)`, observed: '4,073 rows', expected: 'min 1,000' },
      { name: 'null_rate(income)', severity: 'error', passed: true, detail: expect.stringContaining('0% null') },
      { name: 'unique(id)', severity: 'error', passed: true, detail: 'no duplicates of (id)' },
      // 'ignore' and NULL homes: a warning, which does not stop publishing.
      { name: 'accepted_values(home)', severity: 'warning', passed: false, detail: expect.stringMatching(/^\d+ rows with a value not in/) },
      { name: 'value_range(amount)', severity: 'error', passed: true, detail: '0 rows outside at least 0', observed: '0 rows outside', expected: 'min 0' },
    ]);
    expect(step('scored').checks).toEqual([{ name: 'no_negative_ratio', severity: 'error', passed: true, detail: 'no offending rows', observed: '0 offending rows', expected: 'none' }]);
    expect(step('check_credit')).toMatchObject({ kind: 'check', rowCount: 4454, checks: [{ name: 'row_count', passed: true }] });
    expect(step('clean').log.join('\n')).toMatch(/sql: CREATE TABLE "clean" AS select row_number\(\)[\s\S]*built 4,073 rows[\s\S]*check accepted_values\(home\) \(warning\): FAILED[\s\S]*publishing "clean"/);
    expect(step('scored').log.join('\n')).toContain('ts: 4,073 rows in, 4,073 out (id, status, ratio, big)');

    const [summary] = await rowsOf(env, 'select * from $schema.summary');
    expect(summary).toMatchObject({ home_total: String(CLEAN_ROWS), job_total: String(CLEAN_ROWS) });
    const [scored] = await rowsOf(env, 'select count(*)::int as n, count(distinct id)::int as ids, sum(case when big then 1 else 0 end)::int as big from $schema.scored');
    const [expected] = await rowsOf(env, 'select count(*)::int as n, sum(case when amount > 1000 then 1 else 0 end)::int as big from $schema.clean');
    expect(scored).toEqual({ n: CLEAN_ROWS, ids: CLEAN_ROWS, big: expected!.big });
    const [ratio] = await rowsOf(env, 'select abs(s.ratio - c.amount::float8 / c.income) < 1e-9 as same from $schema.scored s join $schema.clean c using (id) where c.id = 7');
    expect(ratio).toEqual({ same: true });

    const scoredMeta = await env.caller.datasets.get({ projectId: env.projectId, name: 'scored' });
    expect(scoredMeta).toMatchObject({ kind: 'built', rowCount: CLEAN_ROWS });
    expect(scoredMeta.columns).toEqual([
      { name: 'id', type: 'integer', nullable: true },
      { name: 'status', type: 'text', nullable: true },
      { name: 'ratio', type: 'numeric', nullable: true },
      { name: 'big', type: 'boolean', nullable: true },
    ]);
    const metrics = await env.caller.datasets.metrics({ projectId: env.projectId, name: 'clean' });
    expect(metrics).toHaveLength(1);
    expect(metrics[0]).toMatchObject({ runId: build.runId, rowCount: CLEAN_ROWS });
    const income = metrics[0]!.columns.find((c) => c.name === 'income')!;
    const [truth] = await rowsOf(env, 'select min(income)::float8 as min, max(income)::float8 as max, avg(income)::float8 as mean, count(distinct income)::int as d from $schema.clean');
    expect(income).toMatchObject({ nullCount: 0, min: truth!.min, max: truth!.max, distinctCount: truth!.d });
    expect(income.mean).toBeCloseTo(Number(truth!.mean), 6);
    // The publish stored the column profiles with these metrics (the dataset page reads them).
    const profiled = await env.caller.datasets.profile({ projectId: env.projectId, name: 'clean' });
    expect(profiled.computedAt).toBe(metrics[0]!.at);
    expect(profiled.profile.find((p) => p.name === 'income')).toMatchObject({ nullCount: 0, min: truth!.min, max: truth!.max, distinctCount: truth!.d });
    const [homes] = await rowsOf(env, 'select (count(*) - count(home))::int as nulls, count(distinct home)::int as d from $schema.clean');
    expect(metrics[0]!.columns.find((c) => c.name === 'home')).toEqual({ name: 'home', nullCount: homes!.nulls, distinctCount: homes!.d });

    expect(await stagingTables(env)).toEqual([]);
    const audit = await env.t.db.select().from(auditEvents).where(eq(auditEvents.targetId, build.runId)).orderBy(asc(auditEvents.seq));
    expect(audit.map((e) => e.action)).toEqual(['build.start', 'build.complete']);
    expect(audit[0]).toMatchObject({ actorType: 'user', actorId: env.editor.userId, projectId: env.projectId });
    expect(audit[1]).toMatchObject({ actorType: 'workflow', actorId: `build-${build.runId}` });
    const publishes = await env.t.db.select().from(auditEvents).where(and(eq(auditEvents.action, 'dataset.publish'), eq(auditEvents.projectId, env.projectId)));
    expect(publishes.map((e) => e.details.name).sort()).toEqual(['by_home', 'by_job', 'clean', 'scored', 'summary']);

    const list = await env.caller.builds.list({ projectId: env.projectId, notebookId });
    expect(list[0]).toMatchObject({ runId: build.runId, status: 'succeeded', stepCounts: { succeeded: 6, failed: 0 } });
  });

  it('re-runs safely: same data, one more metrics point, no staging left, and a step asked again returns what it stored', { timeout: 120_000 }, async () => {
    const before = await rowsOf(env, 'select * from $schema.by_home order by home');
    const build = await buildAndWait(env, notebookId);
    expect(build.status).toBe('succeeded');
    expect(await rowsOf(env, 'select * from $schema.by_home order by home')).toEqual(before);
    expect(await env.caller.datasets.metrics({ projectId: env.projectId, name: 'by_home' })).toHaveLength(2);
    expect(await stagingTables(env)).toEqual([]);

    // The activity delivered once more (a retry after its result was lost): nothing is built twice.
    const rt = { attempt: 3, workflowId: `build-${build.runId}`, signal: new AbortController().signal, cancelRequested: () => false, heartbeat: () => {}, options: DEFAULT_BUILD_STEP_OPTIONS };
    expect(await runBuildStep(env.t.db, { runId: build.runId, stepId: 'by_home' }, rt)).toEqual({ stepId: 'by_home', status: 'succeeded', rowCount: 7, published: true, warnings: 0 });
    const [dataset] = await env.t.db.select().from(datasets).where(and(eq(datasets.projectId, env.projectId), eq(datasets.name, 'by_home')));
    expect(await env.t.db.select().from(datasetMetrics).where(eq(datasetMetrics.datasetId, dataset!.id))).toHaveLength(2);
  });

  it('builds one cell, or a cell and what is downstream of it', { timeout: 120_000 }, async () => {
    const one = await buildAndWait(env, notebookId, { kind: 'cell', cellId: 'by_job' });
    expect(one.steps.map((s) => s.stepId)).toEqual(['by_job']);
    expect(one.steps[0]!.after).toEqual([]);
    // A check cell selects the build of the dataset it checks.
    const viaCheck = await buildAndWait(env, notebookId, { kind: 'downstream', cellId: 'check_clean' });
    expect(viaCheck.status).toBe('succeeded');
    expect(viaCheck.steps.map((s) => s.stepId)).toEqual(['clean', 'by_home', 'by_job', 'scored', 'summary']);
    expect(await trpcCode(env.caller.builds.start({ projectId: env.projectId, notebookId, target: { kind: 'cell', cellId: 'notes' } }))).toBe('BAD_REQUEST');
  });

  it('keeps the previous data when an error-level check fails, skips what is downstream and builds the other branches', { timeout: 120_000 }, async () => {
    const nb = await newNotebook(env, 'Failing check', [
      ...diamond.filter((c) => c.id !== 'check_scored'),
      check('check_home', 'dataset: by_home\nchecks:\n  - type: row_count\n    max: 3\n  - type: null_rate\n    column: home\n    max: 0\n    severity: warning'),
    ]);
    const before = await rowsOf(env, 'select * from $schema.by_home order by home');
    const metricsBefore = await env.caller.datasets.metrics({ projectId: env.projectId, name: 'by_home' });
    const build = await buildAndWait(env, nb);
    expect(build.status).toBe('failed');
    const status = Object.fromEntries(build.steps.map((s) => [s.stepId, s.status]));
    expect(status).toEqual({ check_credit: 'succeeded', clean: 'succeeded', by_home: 'failed', by_job: 'succeeded', scored: 'succeeded', summary: 'skipped' });
    const home = build.steps.find((s) => s.stepId === 'by_home')!;
    // By the cell's name, with the value against its threshold (7 homes; the check allows at most 3).
    expect(home.error).toBe('by_home: check row_count failed (7 rows, max 3); "by_home" was not published (the previous data stays)');
    expect(home.checks[0]).toMatchObject({ observed: '7 rows', expected: 'max 3' });
    expect(home.checks.map((c) => [c.name, c.severity, c.passed])).toEqual([
      ['row_count', 'error', false],
      ['null_rate(home)', 'warning', false],
    ]);
    expect(home.rowCount).toBe(7);
    expect(build.steps.find((s) => s.stepId === 'summary')!.error).toBe('a step it depends on did not succeed');
    expect(build.error).toBe(home.error);
    expect(await rowsOf(env, 'select * from $schema.by_home order by home')).toEqual(before);
    expect(await env.caller.datasets.metrics({ projectId: env.projectId, name: 'by_home' })).toEqual(metricsBefore);
    expect(await stagingTables(env)).toEqual([]);
  });

  it('fails a step whose SQL fails or whose ts cell tries to escape, naming the cell', { timeout: 120_000 }, async () => {
    const nb = await newNotebook(env, 'Broken cells', [
      sql('bad_sql', 'bad', 'select 1 / (income - income) as boom from credit where income is not null'),
      ts('escape', ['credit'], 'escaped', `export default function (rows, emit) { emit({ env: JSON.stringify(process.env) }) }`),
      ts('spin', ['credit'], 'spun', `export default function () { for (;;) {} }`),
    ]);
    const build = await buildAndWait(env, nb);
    expect(build.status).toBe('failed');
    const err = (id: string) => build.steps.find((s) => s.stepId === id)!.error;
    expect(err('bad_sql')).toBe('bad: the SQL failed: division by zero');
    expect(err('escape')).toMatch(/^escaped: transform \(input credit\) threw ReferenceError at line 3: .*'process' is not defined/);
    expect(err('spin')).toBe('spun: transform (input credit) ran longer than the time limit of 2000 ms per call and was stopped');
    expect(await stagingTables(env)).toEqual([]);
    expect(await trpcCode(env.caller.datasets.get({ projectId: env.projectId, name: 'bad' }))).toBe('NOT_FOUND');
  });

  it('refuses to start a notebook where nothing can build, naming the broken cell and why', async () => {
    const nb = await newNotebook(env, 'Does not compile', [sql('a', 'a', 'select * from nowhere')]);
    const err = await env.caller.builds.start({ projectId: env.projectId, notebookId: nb, target: { kind: 'all' } }).catch((e: unknown) => e as { code: string; message: string; cause?: { details?: unknown } });
    expect(err).toMatchObject({ code: 'PRECONDITION_FAILED' });
    expect((err as { message: string }).message).toBe(
      'nothing to build: every cell that builds has errors or reads one that does: "a" (line 2: unknown dataset "nowhere" (no source or cell provides it))',
    );
    expect((err as { cause: { details: { diagnostics: unknown[] } } }).cause.details.diagnostics).toHaveLength(1);
  });

  it('builds everything else when one cell is half-typed: the broken cell and what reads it are skipped, with why', { timeout: 120_000 }, async () => {
    const nb = await newNotebook(env, 'One broken cell', [
      sql('good', 'good_rows', 'select * from credit where income is not null'),
      sql('broken', 'broken_rows', 'select * from credit where'),
      sql('after_broken', 'after_broken', 'select count(*) from broken_rows'),
      { id: 'fresh', kind: 'train', source: '' },
      { id: 'half_yaml', kind: 'check', source: 'dataset: good_rows\nchecks:\n  - type: row_count\n    min: [' },
    ]);
    const { runId, skipped } = await env.caller.builds.start({ projectId: env.projectId, notebookId: nb, target: { kind: 'all' } });
    expect(skipped.map((k) => k.cellId)).toEqual(['broken', 'after_broken', 'half_yaml']);
    expect(skipped[1]!.reason).toBe('depends on "broken_rows", which has errors');
    await tc.client.workflow.getHandle(`build-${runId}`).result();
    const build = await env.caller.builds.get({ projectId: env.projectId, runId });
    expect(build.status).toBe('succeeded');
    expect(build.steps.map((st) => [st.cellId, st.cellName, st.status])).toEqual([['good', 'good_rows', 'succeeded']]);
    expect(build.skipped.map((k) => k.name)).toEqual(['broken_rows', 'after_broken', 'checks on good_rows']);
    const [count] = await rowsOf(env, 'select count(*)::int as n from $schema.good_rows');
    expect(count).toEqual({ n: CLEAN_ROWS });
    expect(await trpcCode(env.caller.datasets.get({ projectId: env.projectId, name: 'broken_rows' }))).toBe('NOT_FOUND');
    // Building the broken cell alone says why it cannot.
    const alone = await env.caller.builds.start({ projectId: env.projectId, notebookId: nb, target: { kind: 'cell', cellId: 'broken' } }).catch((e: unknown) => e as Error);
    expect((alone as Error).message).toMatch(/^cell "broken_rows" cannot be built: line 2: /);
  });

  it('is refused to viewers and shows nothing of another project', async () => {
    const viewer = await newUser(env.t.db, 'viewer');
    const [build] = await env.caller.builds.list({ projectId: env.projectId });
    const otherProject = await env.caller.projects.create({ teamId: env.teamId, name: `Other ${driver}` });
    expect(await trpcCode(callerFor(env.t.db, viewer as Actor).builds.start({ projectId: env.projectId, notebookId, target: { kind: 'all' } }))).toBe('FORBIDDEN');
    expect(await trpcCode(env.caller.builds.get({ projectId: otherProject.id, runId: build!.runId }))).toBe('NOT_FOUND');
  });
});

describe('cancelling a build on postgres', () => {
  let env: Env;

  beforeAll(async () => {
    env = await setUp('postgres');
  }, 120_000);

  afterAll(async () => {
    await env?.worker.shutdown();
    await disposeWithProjectRoles(env?.t);
  }, 60_000);

  it('cancels the running query, drops its staging table, keeps the previous data and finishes the run as cancelled', { timeout: 90_000 }, async () => {
    const nb = await newNotebook(env, 'Slow', [
      sql('slow', 'slow', 'select x, pg_sleep(0.5) is null as slept from generate_series(1, 60) x'),
      sql('after', 'after_slow', 'select count(*) as n from slow'),
    ]);
    const { runId } = await env.caller.builds.start({ projectId: env.projectId, notebookId: nb, target: { kind: 'all' } });
    await vi.waitFor(
      async () => {
        const [row] = await env.t.db.select().from(buildSteps).where(and(eq(buildSteps.runId, runId), eq(buildSteps.stepId, 'slow')));
        expect(row?.status).toBe('running');
        const active = await env.t.query(`select count(*)::int as n from pg_stat_activity where query like '%pg_sleep(0.5)%' and state = 'active' and pid <> pg_backend_pid()`);
        expect(active[0]!.n).toBe(1);
      },
      { timeout: 30_000, interval: 100 },
    );
    const asked = Date.now();
    expect(await env.caller.builds.cancel({ projectId: env.projectId, runId })).toEqual({ runId, status: 'running' });
    await vi.waitFor(async () => expect((await env.caller.builds.get({ projectId: env.projectId, runId })).status).toBe('cancelled'), { timeout: 20_000, interval: 100 });
    expect(Date.now() - asked).toBeLessThan(8_000);
    const build = await env.caller.builds.get({ projectId: env.projectId, runId });
    expect(build.steps.map((s) => [s.stepId, s.status])).toEqual([
      ['slow', 'cancelled'],
      ['after', 'cancelled'],
    ]);
    expect(build.steps[0]!.log.at(-1)).toMatch(/cancelled: the running query was stopped/);
    const active = await env.t.query(`select count(*)::int as n from pg_stat_activity where query like '%pg_sleep(0.5)%' and state = 'active' and pid <> pg_backend_pid()`);
    expect(active[0]!.n).toBe(0);
    expect(await stagingTables(env)).toEqual([]);
    expect(await trpcCode(env.caller.datasets.get({ projectId: env.projectId, name: 'slow' }))).toBe('NOT_FOUND');
    const audit = await env.t.db.select().from(auditEvents).where(eq(auditEvents.targetId, runId)).orderBy(asc(auditEvents.seq));
    expect(audit.map((e) => [e.action, e.details.status])).toEqual([
      ['build.start', undefined],
      ['build.cancel', 'running'],
      ['build.complete', 'cancelled'],
    ]);
    // Cancelling again is a no-op.
    expect(await env.caller.builds.cancel({ projectId: env.projectId, runId })).toEqual({ runId, status: 'cancelled' });
  });
  it('leaves a step open for the next attempt when only this attempt is stopped (worker shutdown), and the next attempt rebuilds it', { timeout: 60_000 }, async () => {
    const nb = await newNotebook(env, 'Interrupted', [sql('naps', 'naps', 'select x, pg_sleep(0.1) is null as slept from generate_series(1, 30) x')]);
    // Started on a task queue no worker polls: the steps stay pending and this test plays the worker.
    const idle = callerFor(env.t.db, env.editor, { workflows: createWorkflowStarter(tc.client, uniqueTaskQueue('nobody')) });
    const { runId } = await idle.builds.start({ projectId: env.projectId, notebookId: nb, target: { kind: 'all' } });
    const stop = new AbortController();
    const rt = (attempt: number, signal: AbortSignal) => ({ attempt, workflowId: `build-${runId}`, signal, cancelRequested: () => false, heartbeat: () => {}, options: DEFAULT_BUILD_STEP_OPTIONS });
    setTimeout(() => stop.abort(), 700);
    await expect(runBuildStep(env.t.db, { runId, stepId: 'naps' }, rt(1, stop.signal))).rejects.toMatchObject({ type: 'interrupted' });
    const [open] = await env.t.db.select().from(buildSteps).where(and(eq(buildSteps.runId, runId), eq(buildSteps.stepId, 'naps')));
    expect(open).toMatchObject({ status: 'running', attempt: 1 });
    expect(open!.log.at(-1)).toMatch(/attempt 1 stopped/);
    expect(await stagingTables(env)).toEqual([]);

    expect(await runBuildStep(env.t.db, { runId, stepId: 'naps' }, rt(2, new AbortController().signal))).toMatchObject({ status: 'succeeded', rowCount: 30, published: true });
    expect(await rowsOf(env, 'select count(*)::int as n from $schema.naps')).toEqual([{ n: 30 }]);
    await tc.client.workflow.getHandle(`build-${runId}`).terminate('test over');
  });
});
