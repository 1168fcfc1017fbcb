import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import type { Client } from '@temporalio/client';
import { openDatabase, type Database } from '@/db/client';
import { auditEvents, projects, teams } from '@/db/schema';
import type { ServiceCtx, UserId } from '@/server/services/context';
import { getRun } from '@/server/services/runs/get-run';
import { startHelloRun } from '@/server/services/runs/start-hello-run';
import { connectTemporal, createWorkflowStarter } from '@/workflows/client';
import { helloRunSteps, type HelloRunResult } from '@/workflows/shared';
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
}, 60_000);

afterAll(async () => {
  await killWorkers(children);
  await client?.connection.close();
  await database?.close();
  await scratch?.drop();
  await temporal?.stop();
}, 30_000);

it('resumes a run on another worker after its worker is killed mid-activity, completing it exactly once', { timeout: 60_000 }, async () => {
  const first = spawnWorkerProcess();
  const run = await startHelloRun({ ctx, input: { projectId, message: 'survivor', stepDelayMs: 4_000 } });
  const handle = client.workflow.getHandle<() => Promise<HelloRunResult>>(run.workflowId);

  // The greeting step is running on the first worker once the server has its heartbeat.
  await vi.waitFor(
    async () => {
      const { raw } = await handle.describe();
      const greeting = raw.pendingActivities?.find((a) => a.activityType?.name === 'recordGreeting');
      expect(greeting?.heartbeatDetails?.payloads?.length, first.output.join('')).toBeGreaterThan(0);
    },
    { timeout: 30_000, interval: 100 },
  );
  first.process.kill('SIGKILL');
  expect(await first.exited).toBeNull();

  spawnWorkerProcess();
  const result = await handle.result();
  expect(result).toEqual({ runId: run.id, greeting: 'Hello, survivor!' });

  const stored = await getRun({ ctx, input: { projectId, runId: run.id } });
  expect(stored.status).toBe('succeeded');
  expect(stored.steps.map((s) => s.step).sort()).toEqual([...helloRunSteps].sort());
  // Recorded by a retry, i.e. by the second worker: the killed attempt never finished.
  expect(stored.steps.find((s) => s.step === 'recordGreeting')?.output.attempt).toBeGreaterThanOrEqual(2);

  const completions = await database.db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.targetId, run.id), eq(auditEvents.action, 'run.complete')));
  expect(completions).toHaveLength(1);
});

it('drains and exits cleanly on SIGTERM', { timeout: 30_000 }, async () => {
  const worker = children.at(-1)!;
  worker.process.kill('SIGTERM');
  expect(await worker.exited, worker.output.join('')).toBe(0);
  expect(worker.output.join('')).toContain('worker: stopped');
});
