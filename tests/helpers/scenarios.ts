import { expect, vi } from 'vitest';
import type { Client } from '@temporalio/client';
import { teamMembers } from '@/db/schema';
import type { Actor } from '@/server/services/context';
import { scoringRuntime } from '@/server/services/scoring/runtime';
import { connectTemporal, createWorkflowStarter } from '@/workflows/client';
import { createWorker, type CreateWorkerOptions, type StagebookWorker } from '@/workflows/worker';
import { callerFor, newUser } from './api';
import { disposeWithProjectRoles } from './datasets';
import { openTestDatabase, type TestDatabase } from './db';
import { setNotebookCells, type TestCell } from './pipeline';
import { quietTemporalRuntime, uniqueTaskQueue, useTestTemporal, type TestTemporal } from './temporal';

type User = Extract<Actor, { type: 'user' }>;
type Caller = ReturnType<typeof callerFor>;
export type ScenarioRunView = Awaited<ReturnType<Caller['scenarios']['getRun']>>;

/**
 * What the scenario integration tests share: the real Temporal dev server, Postgres, a team with an
 * admin and a deployer, one project, and callers that start workflows on a task queue of their own.
 * `deploy` promotes and deploys a notebook of cells; `startWorker` runs the worker (after setup, so
 * nothing runs before the test's data is in place).
 */
export type ScenarioHarness = {
  temporal: TestTemporal;
  client: Client;
  t: TestDatabase;
  admin: User;
  deployer: User;
  teamId: string;
  projectId: string;
  taskQueue: string;
  caller: (actor?: Actor) => Caller;
  deploy: (cells: TestCell[], notes: string) => Promise<{ notebookId: string; bundleHash: string; changed: boolean }>;
  /** `scenario`: the activities' test seams (a step that fails on its first attempt, ...). */
  startWorker: (options?: Pick<CreateWorkerOptions, 'scenario'>) => Promise<StagebookWorker>;
  /** Starts a run now (manual) and waits for it to finish. */
  runToEnd: (scenario: string) => Promise<{ run: ScenarioRunView; seconds: number }>;
  /** Polls the run until `until` holds. */
  waitForRun: (runId: string, until: (run: ScenarioRunView) => boolean) => Promise<ScenarioRunView>;
  close: () => Promise<void>;
};

export const runFinished = (run: ScenarioRunView) => ['succeeded', 'failed', 'cancelled'].includes(run.status);

export async function scenarioHarness(name: string): Promise<ScenarioHarness> {
  quietTemporalRuntime();
  const temporal = await useTestTemporal();
  const client = await connectTemporal(temporal.address, temporal.namespace);
  const t = await openTestDatabase('postgres');
  const taskQueue = uniqueTaskQueue(name);
  const admin = await newUser(t.db, 'admin');
  const deployer = await newUser(t.db, 'deployer');
  const team = await callerFor(t.db, admin).teams.create({ name: `Team ${name}` });
  await t.db.insert(teamMembers).values({ teamId: team.id, userId: deployer.userId, role: 'deployer' });
  const projectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: `Project ${name}` })).id;
  const caller = (actor: Actor = deployer) => callerFor(t.db, actor, { workflows: createWorkflowStarter(client, taskQueue) });
  let worker: StagebookWorker | undefined;

  const waitForRun = async (runId: string, until: (run: ScenarioRunView) => boolean) => {
    let view: ScenarioRunView | undefined;
    await vi.waitFor(
      async () => {
        view = await caller().scenarios.getRun({ projectId, runId });
        expect(until(view)).toBe(true);
      },
      { timeout: 120_000, interval: 200 },
    );
    return view!;
  };

  return {
    temporal,
    client,
    t,
    admin,
    deployer,
    teamId: team.id,
    projectId,
    taskQueue,
    caller,
    async deploy(cells, notes) {
      const notebook = await caller().notebooks.create({ projectId, name: notes });
      await setNotebookCells(t.db, notebook.id, cells);
      const { bundle } = await caller().bundles.promote({ projectId, notebookId: notebook.id, releaseNotes: notes, confirmFailedBuild: true });
      const deployed = await caller().deployments.deploy({ projectId, bundleHash: bundle.hash, reason: notes });
      return { notebookId: notebook.id, bundleHash: bundle.hash, changed: deployed.changed };
    },
    async startWorker(options = {}) {
      worker = await createWorker({ db: t.db, address: temporal.address, namespace: temporal.namespace, taskQueue, ...options });
      void worker.run();
      return worker;
    },
    async runToEnd(scenario) {
      const started = performance.now();
      const { runId } = await caller().scenarios.run({ projectId, scenario });
      const run = await waitForRun(runId, runFinished);
      return { run, seconds: (performance.now() - started) / 1000 };
    },
    waitForRun,
    async close() {
      await worker?.shutdown();
      // What the endpoints noted in memory is written before the pool closes.
      await scoringRuntime(t.db).flushRecorders();
      await client.connection.close();
      await disposeWithProjectRoles(t);
      await temporal.stop();
    },
  };
}
