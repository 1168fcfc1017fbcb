/**
 * Scenario triggers live in Temporal's state: a dev server restarted on its SQLite file still has
 * the Schedule, which fires again after the restart, and the dataset watcher, which sees a change
 * made while Temporal was down and starts a run. Real deployment, real run engine, a worker process.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { Actor } from '@/server/services/context';
import { withSandboxSession } from '@/server/services/datasets/sql-sandbox';
import { syncScenarioTriggers } from '@/server/services/scenarios/triggers/sync-triggers';
import { connectTemporal, createWorkflowStarter } from '@/workflows/client';
import { findTemporalCli, startTemporalDevServer, type DevServer } from '@/workflows/dev-server';
import { scenarioScheduleId, scenarioWatcherId, scenarioWorkflowNames } from '@/workflows/shared/scenario';
import { scenarioWatchStateQuery } from '@/workflows/shared/scenario-watch';
import { callerFor, newUser } from '../helpers/api';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { setNotebookCells } from '../helpers/pipeline';
import { killWorkers, spawnWorker, uniqueTaskQueue, type WorkerChild } from '../helpers/temporal';

const cell = {
  id: 'both',
  kind: 'scenario' as const,
  source:
    'name: both\ntriggers:\n  - type: schedule\n    cron: "* * * * *"\n  - type: dataset_change\n    dataset: sales\n    every: 5s\noverlap: queue_one\nsteps:\n  - type: sql\n    sql: select 1\n',
};

describe('scenario triggers across a Temporal restart', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sb-triggers-restart-'));
  const dbFile = path.join(dir, 'temporal.db');
  const taskQueue = uniqueTaskQueue('restart');
  const workers: WorkerChild[] = [];
  let server: DevServer | undefined;
  let client: Client | undefined;
  let t: TestDatabase | undefined;
  let projectId = '';
  afterAll(async () => {
    if (client && projectId) await syncScenarioTriggers({ client, taskQueue, projectId, scenarios: [] }).catch(() => undefined);
    await killWorkers(workers);
    await client?.connection.close();
    await server?.stop();
    await disposeWithProjectRoles(t);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  const startTemporal = async (port?: number) => {
    server = await startTemporalDevServer({ cliPath: findTemporalCli(), dbFile, ui: false, startTimeoutMs: 60_000, ...(port ? { port } : {}) });
    client = await connectTemporal(server.address, server.namespace);
    return client;
  };
  const startWorker = async () => {
    const w = spawnWorker({ databaseUrl: t!.url!, temporal: { address: server!.address, namespace: server!.namespace, stop: async () => {} }, taskQueue });
    workers.push(w);
    await vi.waitFor(() => expect(w.output.join('')).toContain('polling task queue'), { timeout: 90_000, interval: 200 });
  };

  it('the Schedule fires again and the watcher catches a change made while Temporal was down', { timeout: 300_000 }, async () => {
    let c = await startTemporal();
    const port = Number(server!.address.split(':').pop());
    t = await openTestDatabase('postgres');
    const admin: Extract<Actor, { type: 'user' }> = await newUser(t.db, 'admin');
    const team = await callerFor(t.db, admin).teams.create({ name: 'Restart' });
    projectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'Sales' })).id;
    const notebookId = (await callerFor(t.db, admin).notebooks.create({ projectId, name: 'N' })).id;
    await setNotebookCells(t.db, notebookId, [cell]);
    const bundle = (await callerFor(t.db, admin).bundles.promote({ projectId, notebookId, releaseNotes: 'both triggers', confirmFailedBuild: true })).bundle.hash;
    const sales = (sql: string) => withSandboxSession(t!.db, { projectId, environment: 'production' }, { timeoutMs: 10_000 }, (q) => q(sql));
    await sales('CREATE TABLE sales (id int)');
    await sales('INSERT INTO sales VALUES (1)');
    await startWorker();
    const deployed = await callerFor(t.db, admin, { workflows: createWorkflowStarter(c, taskQueue) }).deployments.deploy({ projectId, bundleHash: bundle, reason: 'test' });
    expect(deployed.afterCommit[0]).toMatchObject({ status: 'ok' });

    const scheduleId = scenarioScheduleId(projectId, 'both', 0);
    const watcherId = scenarioWatcherId(projectId, 'both', 1);
    const runsBy = (kind: string) => t!.query(`select workflow_id from runs where project_id = '${projectId}' and input->'trigger'->>'kind' = '${kind}' order by created_at`);
    const firedAfter = async (since: number) => {
      let workflowId = '';
      await vi.waitFor(
        async () => {
          const actions = (await c.schedule.getHandle(scheduleId).describe()).info.recentActions.filter((a) => a.scheduledAt.getTime() > since);
          expect(actions.length).toBeGreaterThanOrEqual(1);
          workflowId = actions[0]!.action.workflow.workflowId;
        },
        { timeout: 90_000, interval: 500 },
      );
      const run = await c.workflow.getHandle(workflowId).describe();
      expect(run.type).toBe(scenarioWorkflowNames.run);
      return run;
    };

    await firedAfter(0);
    await vi.waitFor(async () => expect((await c.workflow.getHandle(watcherId).query(scenarioWatchStateQuery)).lastFingerprint).toBe('count=1'), { timeout: 30_000, interval: 250 });

    await client!.connection.close();
    client = undefined;
    await server!.stop();
    const stoppedAt = Date.now();
    // Changed while Temporal is down: the watcher must see it once it is back.
    await sales('INSERT INTO sales VALUES (2)');
    c = await startTemporal(port);
    const restartedAt = Date.now();
    console.log(`temporal dev server restarted in ${restartedAt - stoppedAt} ms`);

    const d = await c.schedule.getHandle(scheduleId).describe();
    expect(d.info.numActionsTaken).toBeGreaterThanOrEqual(1);
    expect(d.state.note).toContain(bundle.slice(0, 12));
    // The worker process reconnects by itself to the server on the same address.
    await vi.waitFor(async () => expect(await runsBy('dataset_change')).toHaveLength(1), { timeout: 60_000, interval: 250 });
    console.log(`dataset_change across the restart: run recorded ${Date.now() - restartedAt} ms after Temporal was back`);
    const again = await firedAfter(restartedAt);
    expect(again.startTime.getTime()).toBeGreaterThan(restartedAt);
    await vi.waitFor(async () => expect((await runsBy('schedule')).map((r) => r.workflow_id)).toContain(again.workflowId), { timeout: 30_000, interval: 250 });
  });
});
