import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Client } from '@temporalio/client';
import { buildSteps } from '@/db/schema';
import { DEFAULT_BUILD_STEP_OPTIONS } from '@/server/services/builds/run-build-step';
import { connectTemporal, createWorkflowStarter } from '@/workflows/client';
import { createWorker } from '@/workflows/worker';
import { callerFor, newUser } from '../helpers/api';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { setNotebookCells, sql, ts } from '../helpers/pipeline';
import { quietTemporalRuntime, uniqueTaskQueue, useTestTemporal, type TestTemporal } from '../helpers/temporal';

/**
 * A ts cell that spins just under its per-call limit used to run QuickJS on the worker's main
 * thread: predict, /api/health, heartbeats and so cancellation all waited for it. These run a real
 * build on a real Temporal worker in this process and watch this process's event loop.
 */
let temporal: TestTemporal;
let client: Client;
let t: TestDatabase;
let worker: Awaited<ReturnType<typeof createWorker>>;
let caller: ReturnType<typeof callerFor>;
let projectId: string;

beforeAll(async () => {
  quietTemporalRuntime();
  temporal = await useTestTemporal();
  client = await connectTemporal(temporal.address, temporal.namespace);
  t = await openTestDatabase('postgres');
  const taskQueue = uniqueTaskQueue('ts-cell-build');
  worker = await createWorker({
    db: t.db,
    address: temporal.address,
    namespace: temporal.namespace,
    taskQueue,
    build: { step: { tsCell: { ...DEFAULT_BUILD_STEP_OPTIONS.tsCell, callTimeMs: 5_000 } } },
  });
  void worker.run();
  const editor = await newUser(t.db, 'editor');
  caller = callerFor(t.db, editor, { workflows: createWorkflowStarter(client, taskQueue) });
  const team = await caller.teams.create({ name: 'Team' });
  projectId = (await caller.projects.create({ teamId: team.id, name: 'Cells' })).id;
}, 120_000);

afterAll(async () => {
  await worker?.shutdown();
  await disposeWithProjectRoles(t);
  await client?.connection.close();
  await temporal?.stop();
}, 60_000);

const numbers = sql('numbers', 'numbers', 'select x from generate_series(1, 5000) x');

async function startBuild(name: string, cellSource: string): Promise<string> {
  const nb = await caller.notebooks.create({ projectId, name });
  await setNotebookCells(t.db, nb.id, [numbers, ts('cell', ['numbers'], 'out', cellSource)]);
  return (await caller.builds.start({ projectId, notebookId: nb.id, target: { kind: 'all' } })).runId;
}

const stepOf = async (runId: string) => (await t.db.select().from(buildSteps).where(and(eq(buildSteps.runId, runId), eq(buildSteps.stepId, 'cell'))))[0];

describe('a spinning or recursing ts cell in a build', () => {
  it('leaves the event loop answering while it spins (the spin is off the main thread), and stops promptly when the build is cancelled', { timeout: 120_000 }, async () => {
    const runId = await startBuild(
      'Spin',
      `export default function (rows, emit) { const end = Date.now() + 1500; while (Date.now() < end) {} for (const r of rows) emit({ x: r.x }) }`,
    );
    await vi.waitFor(async () => expect((await stepOf(runId))?.status).toBe('running'), { timeout: 60_000, interval: 50 });
    // Past the thread's start: the cell is spinning through its batches now (about 45 s of them).
    await new Promise((r) => setTimeout(r, 2_000));
    let last = performance.now();
    let stallMs = 0;
    const tick = setInterval(() => {
      const now = performance.now();
      stallMs = Math.max(stallMs, now - last);
      last = now;
    }, 10);
    await new Promise((r) => setTimeout(r, 4_000));
    clearInterval(tick);
    // Each batch spins 1.5 s: on the main thread the loop would stall at least that long. A bound well
    // under it and far over a loaded machine's hiccups (113 ms seen at load 30) tells the two apart.
    expect(stallMs).toBeLessThan(1_000);

    const asked = performance.now();
    expect(await caller.builds.cancel({ projectId, runId })).toEqual({ runId, status: 'running' });
    expect(performance.now() - asked).toBeLessThan(1_000);
    await vi.waitFor(async () => expect((await caller.builds.get({ projectId, runId })).status).toBe('cancelled'), { timeout: 30_000, interval: 50 });
    expect(performance.now() - asked).toBeLessThan(5_000);
    const build = await caller.builds.get({ projectId, runId });
    expect(build.steps.find((s) => s.stepId === 'cell')?.status).toBe('cancelled');
  });

  it('fails deep recursion once, with a clear error naming the line, and does not retry it', { timeout: 120_000 }, async () => {
    const runId = await startBuild('Deep', ['function depth(n: number): number {', '  return depth(n + 1) + 1;', '}', 'export default function (rows, emit) { emit({ d: depth(0) }) }'].join('\n'));
    await client.workflow.getHandle(`build-${runId}`).result();
    const build = await caller.builds.get({ projectId, runId });
    expect(build.status).toBe('failed');
    const step = await stepOf(runId);
    expect(step?.status).toBe('failed');
    expect(step?.attempt).toBe(1);
    // Lines 1-2 of the cell are its headers (inputs, output): the recursive call is on line 4.
    expect(step?.error).toBe('out: transform (input numbers): maximum call stack / recursion depth exceeded at line 4');
  });
});
