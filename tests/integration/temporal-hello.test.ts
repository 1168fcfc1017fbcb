import { randomUUID } from 'node:crypto';
import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { openDatabase, type Database } from '@/db/client';
import { auditEvents, projects, teams } from '@/db/schema';
import type { ServiceCtx, UserId } from '@/server/services/context';
import { getRun } from '@/server/services/runs/get-run';
import { listRuns } from '@/server/services/runs/list-runs';
import { startHelloRun } from '@/server/services/runs/start-hello-run';
import { ServiceError } from '@/server/services/errors';
import { connectTemporal, createWorkflowStarter } from '@/workflows/client';
import { helloRunSteps, type HelloRunResult } from '@/workflows/shared';
import { createWorker, type StagebookWorker } from '@/workflows/worker';
import {
  createScratchPostgres,
  quietTemporalRuntime,
  uniqueTaskQueue,
  useTestTemporal,
  type TestTemporal,
} from '../helpers/temporal';
import { drivers } from '../helpers/db';

const actor = { type: 'user' as const, userId: randomUUID() as UserId, email: 'ada@example.com', name: 'Ada' };

let temporal: TestTemporal;
let client: Client;

beforeAll(async () => {
  quietTemporalRuntime();
  temporal = await useTestTemporal();
  client = await connectTemporal(temporal.address, temporal.namespace);
}, 60_000);

afterAll(async () => {
  await client?.connection.close();
  await temporal?.stop();
}, 30_000);

describe.each(drivers)('hello run on %s with an in-process worker', (driver) => {
  let database: Database;
  let scratch: Awaited<ReturnType<typeof createScratchPostgres>> | undefined;
  let worker: StagebookWorker;
  let ctx: ServiceCtx;
  let projectId: string;
  let teamId: string;

  beforeAll(async () => {
    scratch = await createScratchPostgres(driver);
    database = await openDatabase({ url: scratch.url, driver });
    await database.migrate();
    const taskQueue = uniqueTaskQueue(`hello-${driver}`);
    worker = await createWorker({ db: database.db, address: temporal.address, namespace: temporal.namespace, taskQueue });
    void worker.run();
    ctx = { db: database.db, actor, requestId: 'test-request', clientIp: null, workflows: createWorkflowStarter(client, taskQueue) };
    const [team] = await database.db.insert(teams).values({ name: 'Analytics' }).returning();
    const [project] = await database.db.insert(projects).values({ teamId: team!.id, name: 'Churn' }).returning();
    teamId = team!.id;
    projectId = project!.id;
  }, 60_000);

  afterAll(async () => {
    await worker?.shutdown();
    await database?.close();
    await scratch?.drop();
  }, 30_000);

  const auditOf = (runId: string) =>
    database.db.select().from(auditEvents).where(eq(auditEvents.targetId, runId)).orderBy(asc(auditEvents.seq));

  it('runs to success, records each step once and audits start and completion', { timeout: 30_000 }, async () => {
    const run = await startHelloRun({ ctx, input: { projectId, message: 'world' } });
    expect(run).toMatchObject({ status: 'queued', kind: 'hello', workflowId: `hello-${run.id}`, createdBy: actor.email });

    const result = await client.workflow.getHandle<() => Promise<HelloRunResult>>(run.workflowId).result();
    expect(result).toEqual({ runId: run.id, greeting: 'Hello, world!' });

    const stored = await getRun({ ctx, input: { projectId, runId: run.id } });
    expect(stored.status).toBe('succeeded');
    expect(stored.result).toEqual(result);
    expect(stored.startedAt).toBeInstanceOf(Date);
    expect(stored.finishedAt).toBeInstanceOf(Date);
    expect(stored.steps.map((s) => s.step).sort()).toEqual([...helloRunSteps].sort());

    const audit = await auditOf(run.id);
    expect(audit.map((e) => e.action)).toEqual(['run.start', 'run.complete']);
    expect(audit[0]).toMatchObject({ actorType: 'user', actorId: actor.userId, projectId, teamId, requestId: 'test-request' });
    expect(audit[1]).toMatchObject({ actorType: 'workflow', actorId: run.workflowId, projectId, teamId });
    expect(audit[1]!.details).toMatchObject({ status: 'succeeded', result });

    expect((await listRuns({ ctx, input: { projectId, limit: 10 } })).map((r) => r.id)).toContain(run.id);
  });

  it('treats starting a finished run again as a no-op', { timeout: 30_000 }, async () => {
    const run = await startHelloRun({ ctx, input: { projectId, message: 'again' } });
    const handle = client.workflow.getHandle(run.workflowId);
    await handle.result();
    const { runId: executionId } = await handle.describe();

    await expect(ctx.workflows!.startHelloRun({ runId: run.id, projectId, message: 'again' })).resolves.toEqual({
      workflowId: run.workflowId,
    });
    const latest = await handle.describe();
    expect(latest).toMatchObject({ runId: executionId, status: { name: 'COMPLETED' } });
    expect((await auditOf(run.id)).filter((e) => e.action === 'run.complete')).toHaveLength(1);
  });

  it('fails a run with invalid input without retrying and records the failure', { timeout: 30_000 }, async () => {
    const run = await startHelloRun({ ctx, input: { projectId, message: '   ' } });
    const failure = await client.workflow
      .getHandle(run.workflowId)
      .result()
      .then(
        () => null,
        (err: unknown) => err,
      );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause).toMatchObject({ type: 'InvalidInput', nonRetryable: true });

    const stored = await getRun({ ctx, input: { projectId, runId: run.id } });
    expect(stored).toMatchObject({ status: 'failed', error: 'message must not be empty', steps: [] });
    expect((await auditOf(run.id)).map((e) => [e.action, e.details.status])).toEqual([
      ['run.start', undefined],
      ['run.complete', 'failed'],
    ]);
  });

  it('refuses to start a run where Temporal is not available, creating nothing', async () => {
    const before = await listRuns({ ctx, input: { projectId, limit: 200 } });
    const withoutTemporal: ServiceCtx = { ...ctx, workflows: undefined };
    await expect(startHelloRun({ ctx: withoutTemporal, input: { projectId, message: 'x' } })).rejects.toMatchObject({
      kind: 'PreconditionFailed',
    });
    expect(await listRuns({ ctx, input: { projectId, limit: 200 } })).toHaveLength(before.length);
  });

  it('does not show a run through another project', async () => {
    const [other] = await database.db.insert(projects).values({ teamId, name: `Other ${driver}` }).returning();
    const [run] = await listRuns({ ctx, input: { projectId, limit: 1 } });
    const err = await getRun({ ctx, input: { projectId: other!.id, runId: run!.id } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceError);
    expect(err).toMatchObject({ kind: 'NotFound' });
  });
});
