import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import type { Client } from '@temporalio/client';
import { openDatabase, type Database } from '@/db/client';
import { auditEvents, buildSteps, notebooks, projects, runs, teams } from '@/db/schema';
import { startBuild } from '@/server/services/builds/start-build';
import type { ServiceCtx, UserId } from '@/server/services/context';
import { storeNotebookCells } from '@/server/services/notebooks/store-cells';
import { connectTemporal, createWorkflowStarter } from '@/workflows/client';
import { buildWorkflowId } from '@/workflows/shared';
import {
  createScratchPostgres,
  killWorkers,
  quietTemporalRuntime,
  spawnWorker,
  uniqueTaskQueue,
  useTestTemporal,
  type TestTemporal,
  type WorkerChild,
} from '../helpers/temporal';

const taskQueue = uniqueTaskQueue('worker-kill');

let temporal: TestTemporal;
let client: Client;
let scratch: Awaited<ReturnType<typeof createScratchPostgres>>;
let database: Database;
let ctx: ServiceCtx;
let projectId: string;
let notebookId: string;
const children: WorkerChild[] = [];

const spawnWorkerProcess = (): WorkerChild => {
  const worker = spawnWorker({ databaseUrl: scratch.url, temporal, taskQueue });
  children.push(worker);
  return worker;
};

beforeAll(async () => {
  quietTemporalRuntime();
  temporal = await useTestTemporal();
  client = await connectTemporal(temporal.address, temporal.namespace);
  scratch = await createScratchPostgres();
  database = await openDatabase({ url: scratch.url });
  await database.migrate();
  const actor = { type: 'user' as const, userId: randomUUID() as UserId, email: 'grace@example.com', name: 'Grace' };
  ctx = { db: database.db, actor, requestId: null, clientIp: null, workflows: createWorkflowStarter(client, taskQueue) };
  const [team] = await database.db.insert(teams).values({ name: 'Ops' }).returning();
  const [project] = await database.db.insert(projects).values({ teamId: team!.id, name: 'Resilience' }).returning();
  projectId = project!.id;
  const [notebook] = await database.db.insert(notebooks).values({ projectId, name: 'Slow' }).returning();
  notebookId = notebook!.id;
  // One step that takes seconds inside Postgres: long enough to kill its worker mid-step.
  await storeNotebookCells(database.db, notebookId, [{ id: 'slow', kind: 'sql', source: '-- writes: slow\nselect g as k from generate_series(1, 5) as g, pg_sleep(4)' }]);
}, 60_000);

afterAll(async () => {
  await killWorkers(children);
  await client?.connection.close();
  await database?.close();
  await scratch?.drop();
  await temporal?.stop();
}, 30_000);

it('resumes a build on another worker after its worker is killed mid-step, publishing once', { timeout: 90_000 }, async () => {
  const first = spawnWorkerProcess();
  const { runId } = await startBuild({ ctx, input: { projectId, notebookId, target: { kind: 'all' } } });
  const handle = client.workflow.getHandle(buildWorkflowId(runId));

  // The step is running on the first worker once the server has its heartbeat.
  await vi.waitFor(
    async () => {
      const { raw } = await handle.describe();
      const step = raw.pendingActivities?.find((a) => a.activityType?.name === 'buildStep');
      expect(step?.heartbeatDetails?.payloads?.length, first.output.join('')).toBeGreaterThan(0);
    },
    { timeout: 30_000, interval: 100 },
  );
  first.process.kill('SIGKILL');
  expect(await first.exited).toBeNull();

  spawnWorkerProcess();
  await handle.result();

  const [run] = await database.db.select().from(runs).where(eq(runs.id, runId));
  expect(run?.status, run?.error ?? '').toBe('succeeded');
  const [step] = await database.db.select().from(buildSteps).where(eq(buildSteps.runId, runId));
  expect(step).toMatchObject({ status: 'succeeded', rowCount: 5 });
  // Finished by a retry, i.e. by the second worker: the killed attempt never did.
  expect(step!.attempt).toBeGreaterThanOrEqual(2);
  const completions = await database.db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.targetId, runId), eq(auditEvents.action, 'build.complete')));
  expect(completions).toHaveLength(1);
});

it('drains and exits cleanly on SIGTERM', { timeout: 30_000 }, async () => {
  const worker = children.at(-1)!;
  worker.process.kill('SIGTERM');
  expect(await worker.exited, worker.output.join('')).toBe(0);
  expect(worker.output.join('')).toContain('worker: stopped');
});
