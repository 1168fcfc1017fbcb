import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSteps } from '@/db/schema';
import { schemaNameOf } from '@/server/services/datasets/storage';
import { EXACT_METRICS_MAX_ROWS } from '@/server/services/cells/table-metrics';
import { createWorkflowStarter } from '@/workflows/client';
import { createWorker } from '@/workflows/worker';
import { callerFor, newUser } from '../helpers/api';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { drivers, openTestDatabase, type Driver } from '../helpers/db';
import { check, setNotebookCells, sql } from '../helpers/pipeline';
import { temporalForFile, uniqueTaskQueue } from '../helpers/temporal';

/**
 * Issue 15: a large built table's metrics are estimated from a sample in one cheap pass, and say
 * so (`approximate`, `sampleRows`); a small table's stay exact and unlabelled; a null_rate check on
 * a sampled table still decides on the exact count.
 */
const ROWS = 300_000;
const cells = [
  sql(
    'big',
    'big',
    `select i as id, case when i % 7 = 0 then null else (i % 1000)::float8 end as x,
            case i % 3 when 0 then 'a' when 1 then 'b' else 'c' end as tag
       from generate_series(1, ${ROWS}) as i`,
  ),
  sql('small', 'small', 'select * from big where id <= 1000'),
  check(
    'check_big',
    `dataset: big
checks:
  - type: null_rate
    column: x
    max: 0.5`,
  ),
];

const tc = temporalForFile();

describe.each(drivers)('metrics of built tables on %s', (driver) => {
  let env: Awaited<ReturnType<typeof setUp>>;

  async function setUp(d: Driver) {
    const t = await openTestDatabase(d);
    const taskQueue = uniqueTaskQueue(`sampled-metrics-${d}`);
    const worker = await createWorker({ db: t.db, address: tc.temporal.address, namespace: tc.temporal.namespace, taskQueue });
    void worker.run();
    const editor = await newUser(t.db, 'editor');
    const caller = callerFor(t.db, editor, { workflows: createWorkflowStarter(tc.client, taskQueue) });
    const team = await caller.teams.create({ name: 'Metrics team' });
    const projectId = (await caller.projects.create({ teamId: team.id, name: 'Metrics' })).id;
    const nb = await caller.notebooks.create({ projectId, name: 'Sampled' });
    await setNotebookCells(t.db, nb.id, cells);
    return { t, worker, caller, projectId, notebookId: nb.id };
  }

  beforeAll(async () => {
    env = await setUp(driver);
  }, 120_000);

  afterAll(async () => {
    await env?.worker.shutdown();
    await disposeWithProjectRoles(env?.t);
  }, 60_000);

  it('labels a large table’s metrics as estimated from a sample, keeps small ones exact, and checks null rates on exact counts', async () => {
    expect(ROWS).toBeGreaterThan(EXACT_METRICS_MAX_ROWS);
    const { runId } = await env.caller.builds.start({ projectId: env.projectId, notebookId: env.notebookId, target: { kind: 'all' } });
    await tc.client.workflow.getHandle(`build-${runId}`).result();
    const build = await env.caller.builds.get({ projectId: env.projectId, runId });
    expect(build.status).toBe('succeeded');
    const step = (id: string) => build.steps.find((s) => s.stepId === id)!;
    const stored = await env.t.db.select().from(buildSteps).where(eq(buildSteps.runId, runId));
    const metricsOf = (id: string) => stored.find((s) => s.stepId === id)!.metrics!;

    const schema = `"${schemaNameOf(env.projectId, 'design')}"`;
    const [truth] = await env.t.query(`select (count(*) - count(x))::int as nulls, avg(x)::float8 as mean, count(distinct x)::int as d from ${schema}.big`);
    const exactNulls = Number(truth!.nulls);
    expect(exactNulls).toBe(Math.floor(ROWS / 7));

    const big = metricsOf('big');
    expect(big).toMatchObject({ rowCount: ROWS, approximate: true });
    expect(big.sampleRows).toBeGreaterThan(1_000);
    expect(big.sampleRows).toBeLessThan(ROWS);
    const x = big.columns.find((c) => c.name === 'x')!;
    expect(x).toMatchObject({ approximate: true, sampleRows: big.sampleRows });
    expect(Math.abs(x.nullCount - exactNulls) / exactNulls, `nulls ${x.nullCount} against ${exactNulls}`).toBeLessThan(0.1);
    expect(Math.abs(Number(x.mean) - Number(truth!.mean)) / Number(truth!.mean)).toBeLessThan(0.05);
    expect(Number(x.min)).toBeGreaterThanOrEqual(0);
    expect(Number(x.max)).toBeLessThanOrEqual(999);
    expect(Math.abs(x.distinctCount! - Number(truth!.d)) / Number(truth!.d)).toBeLessThan(0.2);
    expect(big.columns.find((c) => c.name === 'tag')).toMatchObject({ nullCount: 0, distinctCount: 3, approximate: true });

    // The check reads the exact count, not the estimate.
    const nullRate = step('big').checks.find((c) => c.name === 'null_rate(x)')!;
    expect(nullRate.passed).toBe(true);
    expect(nullRate.detail).toContain(`(${exactNulls.toLocaleString('en-US')} of ${ROWS.toLocaleString('en-US')};`);

    // What the dataset page reads says the same.
    const [history] = await env.caller.datasets.metrics({ projectId: env.projectId, name: 'big' });
    expect(history!.rowCount).toBe(ROWS);
    expect(history!.columns.every((c) => c.approximate === true && c.sampleRows === big.sampleRows)).toBe(true);
    const profile = await env.caller.datasets.profile({ projectId: env.projectId, name: 'big' });
    expect(profile.profile.find((p) => p.name === 'x')).toMatchObject({ sampled: true, rows: ROWS });

    const small = metricsOf('small');
    expect(small.approximate).toBeUndefined();
    expect(small.columns.find((c) => c.name === 'x')).toEqual({ name: 'x', nullCount: Math.floor(1000 / 7), distinctCount: 1000 - Math.floor(1000 / 7), min: 0, max: 999, mean: expect.any(Number) });
  }, 180_000);
});
