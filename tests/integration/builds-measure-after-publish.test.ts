import { and, eq, sql as dsql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSteps, datasetMetrics, datasets } from '@/db/schema';
import { DEFAULT_BUILD_STEP_OPTIONS } from '@/server/services/builds/run-build-step';
import { MEASURE_AFTER_PUBLISH_MIN_ROWS, measurePublishedStep } from '@/server/services/builds/measure-published-step';
import { createWorkflowStarter } from '@/workflows/client';
import { createWorker } from '@/workflows/worker';
import { callerFor, newUser } from '../helpers/api';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { drivers, openTestDatabase, type Driver } from '../helpers/db';
import { check, setNotebookCells, sql } from '../helpers/pipeline';
import { temporalForFile, uniqueTaskQueue } from '../helpers/temporal';

/**
 * Issue 15: a large table no check waits on is published before its metrics are taken, and the
 * build measures it beside the steps that read it; the build ends with the same figures, profile
 * and metrics history as when each step measured its table before publishing. A table with checks
 * is still measured (and checked) before it is published.
 */
const ROWS = 60_000;
const cells = [
  sql('big', 'big', `select i as id, (i % 1000)::float8 as x, case i % 3 when 0 then 'a' when 1 then 'b' else 'c' end as tag from generate_series(1, ${ROWS}) as i`),
  sql('checked', 'checked', 'select * from big where id % 2 = 0'),
  sql('small', 'small', 'select * from big where id <= 1000'),
  check('check_checked', 'dataset: checked\nchecks:\n  - type: row_count\n    min: 1'),
];

const tc = temporalForFile();

describe.each(drivers)('metrics after publishing on %s', (driver) => {
  let env: Awaited<ReturnType<typeof setUp>>;

  async function setUp(d: Driver) {
    const t = await openTestDatabase(d);
    const taskQueue = uniqueTaskQueue(`measure-after-${d}`);
    const before = `${taskQueue}-before`;
    const worker = await createWorker({ db: t.db, address: tc.temporal.address, namespace: tc.temporal.namespace, taskQueue });
    const beforeWorker = await createWorker({ db: t.db, address: tc.temporal.address, namespace: tc.temporal.namespace, taskQueue: before, build: { measureAfterPublish: false } });
    void worker.run();
    void beforeWorker.run();
    const editor = await newUser(t.db, 'editor');
    const caller = callerFor(t.db, editor, { workflows: createWorkflowStarter(tc.client, taskQueue) });
    const callerBefore = callerFor(t.db, editor, { workflows: createWorkflowStarter(tc.client, before) });
    const team = await caller.teams.create({ name: 'Measure team' });
    const projectId = (await caller.projects.create({ teamId: team.id, name: 'Measure' })).id;
    const nb = await caller.notebooks.create({ projectId, name: 'Measure after' });
    await setNotebookCells(t.db, nb.id, cells);
    return { t, workers: [worker, beforeWorker], caller, callerBefore, projectId, notebookId: nb.id };
  }

  beforeAll(async () => {
    env = await setUp(driver);
  }, 120_000);

  afterAll(async () => {
    for (const w of env?.workers ?? []) await w.shutdown();
    await disposeWithProjectRoles(env?.t);
  }, 60_000);

  async function build(caller: typeof env.caller) {
    const { runId } = await caller.builds.start({ projectId: env.projectId, notebookId: env.notebookId, target: { kind: 'all' } });
    await tc.client.workflow.getHandle(`build-${runId}`).result();
    const run = await env.caller.builds.get({ projectId: env.projectId, runId });
    expect(run.status).toBe('succeeded');
    const stored = await env.t.db.select().from(buildSteps).where(eq(buildSteps.runId, runId));
    return { runId, step: (id: string) => stored.find((s) => s.stepId === id)! };
  }

  const history = async (name: string, runId: string) => {
    const [dataset] = await env.t.db
      .select()
      .from(datasets)
      .where(and(eq(datasets.projectId, env.projectId), eq(datasets.name, name)));
    return env.t.db
      .select()
      .from(datasetMetrics)
      .where(and(eq(datasetMetrics.datasetId, dataset!.id), eq(datasetMetrics.runId, runId)));
  };

  it('publishes a large unchecked table first, then stores the same metrics, profile and history point as measuring it before', async () => {
    expect(ROWS).toBeGreaterThan(MEASURE_AFTER_PUBLISH_MIN_ROWS);
    const before = await build(env.callerBefore);
    const after = await build(env.caller);

    const big = after.step('big');
    const lineOf = (log: string[], re: RegExp) => log.findIndex((l) => re.test(l));
    const published = lineOf(big.log, /publishing "big"/);
    const measuredAt = lineOf(big.log, /metrics after publishing: 60,000 rows, 3 columns in /);
    expect(published).toBeGreaterThanOrEqual(0);
    expect(measuredAt, big.log.join('\n')).toBeGreaterThan(published);
    // Exact figures (the table is under EXACT_METRICS_MAX_ROWS): the same as measured before publishing.
    expect(big.metrics).toEqual(before.step('big').metrics);
    expect(lineOf(before.step('big').log, /metrics after publishing/)).toBe(-1);

    const [point] = await history('big', after.runId);
    expect(point).toMatchObject({ rowCount: ROWS, columns: big.metrics!.columns });
    expect(point!.at.getTime()).toBe(big.publishedAt!.getTime());
    expect((point!.profile as { name: string }[]).map((p) => p.name)).toEqual(['id', 'x', 'tag']);
    const profile = await env.caller.datasets.profile({ projectId: env.projectId, name: 'big' });
    expect(profile.computedAt).toBe(point!.at.toISOString());

    // A checked table is measured and checked before it is published; a small one as before too.
    const checked = after.step('checked').log;
    expect(lineOf(checked, /metrics: 30,000 rows/)).toBeLessThan(lineOf(checked, /publishing "checked"/));
    expect(after.step('checked').checks).toEqual([expect.objectContaining({ passed: true })]);
    expect(lineOf(after.step('small').log, /metrics: 1,000 rows/)).toBeLessThan(lineOf(after.step('small').log, /publishing "small"/));
  }, 180_000);

  it('measures nothing when another publish replaced the table before the pass began, and says so', async () => {
    const { runId, step } = await build(env.caller);
    expect(step('big').metrics).not.toBeNull();
    // As if the pass had not run yet and another build had published "big" since.
    await env.t.db
      .update(buildSteps)
      .set({ metrics: null })
      .where(and(eq(buildSteps.runId, runId), eq(buildSteps.stepId, 'big')));
    await env.t.db.delete(datasetMetrics).where(eq(datasetMetrics.runId, runId));
    await env.t.db
      .update(datasets)
      .set({ updatedAt: dsql`now()` })
      .where(and(eq(datasets.projectId, env.projectId), eq(datasets.name, 'big')));
    await measurePublishedStep(env.t.db, { runId, stepId: 'big' }, { signal: new AbortController().signal, heartbeat: () => {}, options: DEFAULT_BUILD_STEP_OPTIONS });
    const [after] = await env.t.db
      .select()
      .from(buildSteps)
      .where(and(eq(buildSteps.runId, runId), eq(buildSteps.stepId, 'big')));
    expect(after!.metrics).toBeNull();
    expect(after!.log.at(-1)).toMatch(/"big" changed before its metrics were taken \(published again or removed\): none are recorded for this build/);
    expect(await history('big', runId)).toEqual([]);
  }, 120_000);
});
