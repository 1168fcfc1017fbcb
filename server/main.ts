import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { openDatabase, type Database } from '@/db/client';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres';
import { postgresLog, type EarlyChildren } from './early-start';
import { closeSandboxPools } from './services/datasets/sql-sandbox';
import { connectTemporal, createWorkflowStarter, workflowState } from '@/workflows/client';
import { findTemporalCli, startTemporalDevServer, type DevServer } from '@/workflows/dev-server';
import type { StagebookWorker } from '@/workflows/worker';
import type { WorkerTracing } from './start-worker';
import { finishOrphanedScenarioRuns } from './services/scenarios/orphaned-runs';
import { finishOrphanedTrainingRuns } from './services/runs/orphaned-runs';
import { buildApp } from './app';
import { startMetricsServer } from './metrics/server';
import { freeLoopbackPort, temporalMetricsReader } from './metrics/temporal-metrics';
import type { Env } from './env';
import { createNextHandler, nextBuildIsStale, runNextBuild } from './next-app';
import { startDemoSeed } from './services/demo/start-demo-seed';
import { bootstrapAdmin } from './services/system/bootstrap-admin';
import { AUDIT_ANCHOR_FILE, startAuditAnchoring } from './services/audit/anchor';

/** How often a process with a Temporal client looks for scenario runs whose workflow ended without them. */
const ORPHAN_SWEEP_MS = 60_000;

/**
 * DATABASE_URL's server, or the embedded one under $STAGEBOOK_HOME/pg, started here. Closing the
 * returned database ends the pool first, then stops the embedded server.
 */
export async function openEnvDatabase(env: Env, opts: { log?: (line: string) => void; started?: Promise<EmbeddedPostgres> | null } = {}): Promise<Database> {
  if (env.DATABASE_URL) return openDatabase({ url: env.DATABASE_URL });
  const server = await (opts.started ?? startEmbeddedPostgres({ dataDir: embeddedDataDir(env), ...(opts.log ? { log: opts.log } : {}) }));
  try {
    const database = await openDatabase({ url: server.url, driver: 'embedded' });
    return {
      ...database,
      close: async () => {
        try {
          await database.close();
        } finally {
          await server.stop();
        }
      },
    };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

export const embeddedDataDir = (env: Env) => path.join(env.homeDir, 'pg');

type Closer = { name: string; close: () => Promise<unknown> };

/**
 * Loads and starts the Temporal worker (start-worker.ts: seconds of module loading and worker
 * creation, kept off the path to listening) and runs it; `failed` is called when it cannot start or
 * stops with an error. Logs when it polls.
 */
function startWorkerAfterListening(
  opts: { db: Database['db']; address: string; env: Env; metricsAddress: string | null; tracing?: WorkerTracing },
  failed: () => void,
): Promise<{ worker: StagebookWorker; running: Promise<void> }> {
  const { env } = opts;
  const starting = import('./start-worker')
    .then(({ startStagebookWorker }) =>
      startStagebookWorker({ db: opts.db, address: opts.address, namespace: env.TEMPORAL_NAMESPACE, taskQueue: env.TEMPORAL_TASK_QUEUE, logLevel: env.LOG_LEVEL, metricsAddress: opts.metricsAddress, ...(opts.tracing ? { tracing: opts.tracing } : {}) }),
    )
    .then((worker) => {
      const running = worker.run().catch((err: unknown) => {
        console.error('temporal worker stopped with an error', err);
        failed();
      });
      console.log(`  temporal worker: polling ${env.TEMPORAL_TASK_QUEUE} (${(performance.now() / 1000).toFixed(1)} s from the process's start)`);
      return { worker, running };
    });
  starting.catch((err: unknown) => {
    console.error('temporal worker could not start', err);
    failed();
  });
  return starting;
}

/**
 * Starts the roles `env.STAGEBOOK_ROLE` asks for. `all` (the default) runs everything in this
 * process on embedded defaults; the split roles expect a shared Postgres and Temporal.
 */
export async function startStagebook(env: Env, early: EarlyChildren = { postgres: null, temporal: null }): Promise<void> {
  // performance.now() counts from this process's start: the phases below say when each part was ready.
  const phases: [string, number][] = [['modules', performance.now()]];
  const mark = (name: string) => void phases.push([name, performance.now()]);
  const role = env.STAGEBOOK_ROLE;
  if (role !== 'all' && !env.DATABASE_URL) {
    throw new Error(`--role ${role} needs DATABASE_URL: the embedded PostgreSQL server is started only by role all, for one process`);
  }
  if (role !== 'all' && !env.TEMPORAL_ADDRESS) {
    throw new Error(`--role ${role} needs TEMPORAL_ADDRESS: the embedded Temporal dev server is started only by role all`);
  }
  const closers: Closer[] = [];
  let shuttingDown = false;
  const closeAll = async () => {
    for (const c of closers.reverse()) {
      try {
        await c.close();
      } catch (err) {
        console.error(`error while closing ${c.name}:`, err);
      }
    }
  };
  const shutdown = async (reason: string, exitCode = 0) => {
    if (shuttingDown) return;
    shuttingDown = true;
    console.log(`\n${reason}: shutting down`);
    await closeAll();
    process.exit(exitCode);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));

  // What does not need the database starts alongside it: the Temporal dev server (a child to wait
  // for) and the web app's handler. Sequential, these made most of a restart. Until a part is awaited
  // and its closer pushed, the catch below stops it. The Temporal worker starts after listening.
  const withWorker = role === 'all' || role === 'worker';
  const withWeb = role === 'all' || role === 'web';
  // Before anything opens a connection or a socket: the hooks patch pg and http as they load.
  const tracing = env.OTEL_EXPORTER_OTLP_ENDPOINT
    ? (await import('./telemetry/tracing')).startTracing({ endpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: env.OTEL_SERVICE_NAME, role })
    : null;
  if (tracing) closers.push({ name: 'tracing', close: () => tracing.shutdown() });
  // With metrics on, the SDK's core exports its own metrics on a loopback port; our /metrics appends them.
  const workerMetricsAddress = withWorker && env.METRICS_PORT !== undefined ? `127.0.0.1:${await freeLoopbackPort()}` : null;
  const devServerStarting: Promise<DevServer> | null = env.TEMPORAL_ADDRESS
    ? null
    : (early.temporal ??
      startTemporalDevServer({
        cliPath: findTemporalCli({ cliPath: env.TEMPORAL_CLI_PATH }),
        dbFile: path.join(env.homeDir, 'temporal.sqlite'),
        namespace: env.TEMPORAL_NAMESPACE,
        log: (line) => console.log(`[temporal] ${line}`),
      }));
  let devServerOwned = false;
  void devServerStarting?.then(() => mark('temporal'), () => undefined);
  const nextStarting = withWeb
    ? (async () => {
        if (nextBuildIsStale()) {
          console.log('building the web app (next build); this happens once per change of app/ ...');
          await runNextBuild();
        }
        const handler = await createNextHandler({ hostname: 'localhost', port: env.PORT });
        mark('web');
        return handler;
      })()
    : null;
  let nextOwned = false;
  // Awaited later (or by the catch): a failure meanwhile must not become an unhandled rejection.
  for (const p of [devServerStarting, nextStarting]) p?.catch(() => undefined);

  try {
    const database = await openEnvDatabase(env, { log: postgresLog, started: early.postgres });
    closers.push({
      name: 'database',
      close: async () => {
        await closeSandboxPools(database.db);
        await database.close();
      },
    });
    mark('database');
    await database.migrate();
    mark('migrations');
    // After the database closer, so it runs before it: the last anchor is written at shutdown.
    const anchoring = startAuditAnchoring({ db: database.db, file: path.join(env.homeDir, AUDIT_ANCHOR_FILE), log: (line) => console.log(line) });
    closers.push({ name: 'audit anchor', close: () => anchoring.stop() });

    let admin: { email: string; password: string } | null = null;
    if (role === 'all' || role === 'web') {
      admin = await bootstrapAdmin(database.db, { email: env.STAGEBOOK_ADMIN_EMAIL, password: env.STAGEBOOK_ADMIN_PASSWORD });
      if (admin) {
        writeFileSync(path.join(env.homeDir, 'initial-admin.txt'), `email: ${admin.email}\npassword: ${admin.password}\n`, { mode: 0o600 });
      }
    }

    // Set below when we run the dev server (devServerStarting is null only with TEMPORAL_ADDRESS).
    let temporalAddress = env.TEMPORAL_ADDRESS ?? '';
    let temporalUi: string | null = null;
    if (devServerStarting) {
      const devServer = await devServerStarting;
      devServerOwned = true;
      closers.push({ name: 'temporal dev server', close: () => devServer.stop() });
      temporalAddress = devServer.address;
      temporalUi = devServer.uiUrl;
    }

    let client: Client | undefined;
    if (role !== 'worker') {
      client = await connectTemporal(temporalAddress, env.TEMPORAL_NAMESPACE, tracing ? { interceptors: tracing.clientInterceptors } : {});
      const c = client;
      closers.push({ name: 'temporal client', close: () => c.connection.close() });
      mark('client');
    }

    // Started after listening (below); closed here in the order of closers, before the client.
    let workerStarting: Promise<{ worker: StagebookWorker; running: Promise<void> }> | null = null;
    if (withWorker) {
      closers.push({
        name: 'temporal worker',
        close: async () => {
          const w = await workerStarting?.catch(() => undefined);
          if (w) await w.worker.shutdown().then(() => w.running);
        },
      });
    }

    let nextHandler: Awaited<ReturnType<typeof createNextHandler>> | undefined;
    if (nextStarting) {
      nextHandler = await nextStarting;
      nextOwned = true;
      const n = nextHandler;
      closers.push({ name: 'next', close: () => n.close() });
    }


    const workflows = client ? createWorkflowStarter(client, env.TEMPORAL_TASK_QUEUE) : undefined;
    if (client) {
      // Scenario and training runs whose workflow was terminated (or timed out) run no more code: finish them.
      const c = client;
      const sweep = () =>
        Promise.all([
          finishOrphanedScenarioRuns(database.db, (id) => workflowState(c, id))
            .then((ids) => ids.length && console.warn(`finished ${ids.length} scenario run(s) whose workflow had ended without them: ${ids.join(', ')}`))
            .catch((err: unknown) => console.error('could not check for scenario runs whose workflow ended', err)),
          finishOrphanedTrainingRuns(database.db, (id) => workflowState(c, id))
            .then((ids) => ids.length && console.warn(`failed ${ids.length} training run(s) whose workflow had ended without them: ${ids.join(', ')}`))
            .catch((err: unknown) => console.error('could not check for training runs whose workflow ended', err)),
        ]);
      const timer = setInterval(() => void sweep(), ORPHAN_SWEEP_MS);
      timer.unref();
      void sweep();
      closers.push({ name: 'run sweeper', close: async () => clearInterval(timer) });
    }
    const app = await buildApp({
      db: database.db,
      driver: database.driver,
      role,
      workflows,
      checkTemporal: client ? async () => void (await client.workflowService.getSystemInfo({})) : undefined,
      secureCookies: env.STAGEBOOK_SECURE_COOKIES,
      trustProxy: env.STAGEBOOK_TRUST_PROXY,
      nextHandler: nextHandler?.handler,
      publicUrl: env.STAGEBOOK_PUBLIC_URL,
      collab: { maxUpdateBytes: env.STAGEBOOK_COLLAB_MAX_UPDATE_BYTES, maxDocumentBytes: env.STAGEBOOK_COLLAB_MAX_DOCUMENT_BYTES, relay: env.STAGEBOOK_COLLAB_RELAY === 'postgres' },
      logger: env.LOG_LEVEL === 'silent' ? false : { level: env.LOG_LEVEL === 'info' ? 'warn' : env.LOG_LEVEL },
    });
    closers.push({ name: 'http server', close: () => app.close() });
    await app.listen({ port: env.PORT, host: env.HOST });
    mark('listening');
    if (withWorker && !shuttingDown) {
      // Workflows started meanwhile wait in Temporal's task queue until the worker polls it.
      workerStarting = startWorkerAfterListening({ db: database.db, address: temporalAddress, env, metricsAddress: workerMetricsAddress, ...(tracing ? { tracing: tracing.worker } : {}) }, () => {
        if (!shuttingDown) void shutdown('worker failure', 1);
      });
    }
    let metricsUrl: string | null = null;
    if (env.METRICS_PORT !== undefined) {
      const metrics = await startMetricsServer({
        host: env.METRICS_HOST,
        port: env.METRICS_PORT,
        ...(workerMetricsAddress ? { extra: temporalMetricsReader(workerMetricsAddress) } : {}),
      });
      metricsUrl = metrics.url;
      closers.push({ name: 'metrics server', close: () => metrics.close() });
    }
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : env.PORT;
    const url = env.STAGEBOOK_PUBLIC_URL ?? `http://localhost:${port}`;
    const secs = (ms: number) => (ms / 1000).toFixed(1);
    const lines = [
      // When each part was ready, in seconds from the process's start (parts start together, so they overlap).
      `Stagebook is ready at ${url}  (role ${role}, ${secs(performance.now())} s; ready at: ${phases.sort((a, b) => a[1] - b[1]).map(([name, ms]) => `${name} ${secs(ms)}`).join(', ')})`,
      `  database: ${database.driver === 'embedded' ? `embedded PostgreSQL at ${embeddedDataDir(env)}` : 'Postgres (DATABASE_URL)'}`,
      `  temporal: ${temporalAddress}${temporalUi ? `  (UI ${temporalUi})` : ''}`,
    ];
    if (metricsUrl) lines.push(`  metrics: ${metricsUrl}`);
    if (admin) {
      lines.push(`  first admin: sign in as ${admin.email} with password ${admin.password}`);
      lines.push(`  (also saved in ${path.join(env.homeDir, 'initial-admin.txt')}; change it after signing in)`);
    }
    console.log(lines.join('\n'));

    // Only the process that created the first admin seeds, once; after listening, so it never delays readiness.
    if (admin && env.STAGEBOOK_DEMO && workflows) {
      const seeding = startDemoSeed({ db: database.db, workflows, adminEmail: admin.email });
      closers.push({ name: 'demo seed', close: () => seeding.stop() });
    }
  } catch (err) {
    shuttingDown = true;
    await closeAll();
    if (devServerStarting && !devServerOwned) await devServerStarting.then((d) => d.stop(), () => undefined);
    if (nextStarting && !nextOwned) await nextStarting.then((n) => n.close(), () => undefined);
    throw err;
  }
}
