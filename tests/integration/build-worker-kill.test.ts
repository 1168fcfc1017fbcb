import { createReadStream } from 'node:fs';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import type { Client } from '@temporalio/client';
import { auditEvents, buildSteps } from '@/db/schema';
import { schemaNameOf } from '@/server/services/datasets/storage';
import { uploadDataset } from '@/server/services/datasets/upload-dataset';
import { connectTemporal, createWorkflowStarter } from '@/workflows/client';
import type { BuildResult } from '@/workflows/shared';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { creditDataCsv, disposeWithProjectRoles } from '../helpers/datasets';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { setNotebookCells, sql, ts } from '../helpers/pipeline';
import {
  killWorkers,
  quietTemporalRuntime,
  spawnWorker,
  uniqueTaskQueue,
  useTestTemporal,
  type TestTemporal,
  type WorkerChild,
} from '../helpers/temporal';

const CLEAN_ROWS = 4454 - 381;
const taskQueue = uniqueTaskQueue('build-kill');

let temporal: TestTemporal;
let client: Client;
let t: TestDatabase;
const children: WorkerChild[] = [];

const spawnWorkerProcess = (): WorkerChild => {
  const worker = spawnWorker({ databaseUrl: t.url!, temporal, taskQueue });
  children.push(worker);
  return worker;
};

beforeAll(async () => {
  quietTemporalRuntime();
  temporal = await useTestTemporal();
  client = await connectTemporal(temporal.address, temporal.namespace);
  t = await openTestDatabase('postgres');
}, 60_000);

afterAll(async () => {
  await killWorkers(children);
  await client?.connection.close();
  await disposeWithProjectRoles(t);
  await temporal?.stop();
}, 60_000);

it('finishes a multi-step build on a new worker after its worker is SIGKILLed mid-step, with correct data and no duplicated rows', { timeout: 300_000 }, async () => {
  const editor = await newUser(t.db, 'editor');
  const workflows = createWorkflowStarter(client, taskQueue);
  const caller = callerFor(t.db, editor, { workflows });
  const team = await caller.teams.create({ name: 'Ops' });
  const projectId = (await caller.projects.create({ teamId: team.id, name: 'Resilience' })).id;
  await uploadDataset({ ctx: ctxFor(t.db, editor), input: { projectId, name: 'credit', environment: 'design' }, csv: createReadStream(creditDataCsv) });
  const notebook = await caller.notebooks.create({ projectId, name: 'Durable' });
  await setNotebookCells(t.db, notebook.id, [
    sql('clean', 'clean', 'select row_number() over (order by seniority, age, amount, price, income, expenses, assets, debt, time) as id, * from credit where income is not null'),
    // About 2 ms a row (~8 s in all): the worker is killed while this step has written part of its rows.
    ts(
      'scored',
      ['clean'],
      'scored',
      `export default function (rows, emit) {
  for (const r of rows) { const until = Date.now() + 2; while (Date.now() < until) {} emit({ id: r.id, ratio: r.amount / r.income }); }
}`,
    ),
    sql('by_job', 'by_job', 'select job, count(*) as n from clean group by job'),
    sql('summary', 'summary', 'select count(*) as n, count(distinct id) as ids, (select sum(n) from by_job) as jobs from scored'),
  ]);

  const first = spawnWorkerProcess();
  const { runId } = await caller.builds.start({ projectId, notebookId: notebook.id, target: { kind: 'all' } });
  const handle = client.workflow.getHandle<() => Promise<BuildResult>>(`build-${runId}`);

  // The ts step is running on the first worker and has reported rows through its heartbeat.
  await vi.waitFor(
    async () => {
      const { raw } = await handle.describe();
      const step = raw.pendingActivities?.find((a) => a.activityType?.name === 'buildStep' && a.heartbeatDetails?.payloads?.length);
      const details = step?.heartbeatDetails?.payloads?.map((p) => Buffer.from(p.data ?? []).toString()).join('') ?? '';
      expect(details, first.output.join('')).toMatch(/ts: [1-9]\d* rows in/);
    },
    // A worker process starting under a loaded machine (tsx, Temporal's bundle) can take most of a minute.
    { timeout: 150_000, interval: 100 },
  );
  first.process.kill('SIGKILL');
  expect(await first.exited).toBeNull();
  const [midway] = await t.db.select().from(buildSteps).where(and(eq(buildSteps.runId, runId), eq(buildSteps.stepId, 'scored')));
  expect(midway?.status).toBe('running');

  spawnWorkerProcess();
  const result = await handle.result();
  expect(result).toMatchObject({ runId, status: 'succeeded', failed: [], skipped: [] });

  const schema = `"${schemaNameOf(projectId, 'design')}"`;
  const [summary] = await t.query(`select n::int, ids::int, jobs::int from ${schema}.summary`);
  expect(summary).toEqual({ n: CLEAN_ROWS, ids: CLEAN_ROWS, jobs: CLEAN_ROWS });
  const [scored] = await t.query(`select count(*)::int as n, count(distinct id)::int as ids from ${schema}.scored`);
  expect(scored).toEqual({ n: CLEAN_ROWS, ids: CLEAN_ROWS });
  const [ratio] = await t.query(`select count(*)::int as wrong from ${schema}.scored s join ${schema}.clean c using (id) where abs(s.ratio - c.amount::float8 / c.income) > 1e-9`);
  expect(ratio).toEqual({ wrong: 0 });

  const build = await caller.builds.get({ projectId, runId });
  const step = build.steps.find((s) => s.stepId === 'scored')!;
  expect(step).toMatchObject({ status: 'succeeded', rowCount: CLEAN_ROWS });
  expect(step.log.join('\n')).toMatch(/attempt [2-9]: starting over/);
  const leftovers = await t.query(`select tablename from pg_tables where schemaname = $1 and tablename like '\\_sb\\_%'`, [schemaNameOf(projectId, 'design')]);
  expect(leftovers).toEqual([]);

  // Published once per dataset, completed once.
  const published = await t.db.select().from(auditEvents).where(and(eq(auditEvents.action, 'dataset.publish'), eq(auditEvents.projectId, projectId)));
  expect(published.map((e) => e.details.name).sort()).toEqual(['by_job', 'clean', 'scored', 'summary']);
  const completions = await t.db.select().from(auditEvents).where(and(eq(auditEvents.targetId, runId), eq(auditEvents.action, 'build.complete')));
  expect(completions).toHaveLength(1);
  expect(await caller.datasets.metrics({ projectId, name: 'scored' })).toHaveLength(1);
});
