/**
 * A standalone worker process: `npx tsx workflows/worker-main.ts`. Workers scale out, so this needs
 * a shared Postgres (DATABASE_URL; the embedded server belongs to the process that started it) and a
 * reachable Temporal (TEMPORAL_ADDRESS). It does not migrate: the database is migrated by the
 * deployment (`stagebook migrate`) before workers start.
 */
import { openDatabase } from '@/db/client';
import { loadEnv } from '@/server/env';
import { createWorker } from './worker';

async function main(): Promise<void> {
  const env = loadEnv();
  if (!env.DATABASE_URL) {
    throw new Error('DATABASE_URL is required for a standalone worker (the embedded PostgreSQL server is started only by role all)');
  }
  if (!env.TEMPORAL_ADDRESS) throw new Error('TEMPORAL_ADDRESS (host:port) is required for a standalone worker');

  // As in server/main.ts: loaded only when tracing is on, before the first connection.
  const tracing = env.OTEL_EXPORTER_OTLP_ENDPOINT
    ? (await import('@/server/telemetry/tracing')).startTracing({ endpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: env.OTEL_SERVICE_NAME, role: 'worker' })
    : null;
  const database = await openDatabase({ url: env.DATABASE_URL, poolSize: 5 });
  const handle = await createWorker({
    db: database.db,
    address: env.TEMPORAL_ADDRESS,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: env.TEMPORAL_TASK_QUEUE,
    ...(tracing ? { tracing: tracing.worker } : {}),
  }).catch(async (err: unknown) => {
    await database.close();
    await tracing?.shutdown();
    throw err;
  });

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (++signals > 1) {
      console.error(`worker: second ${signal}, exiting without draining`);
      process.exit(1);
    }
    console.log(`worker: ${signal}, draining`);
    void handle.shutdown();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  const running = handle.run();
  console.log(
    `worker: polling task queue "${env.TEMPORAL_TASK_QUEUE}" on ${env.TEMPORAL_ADDRESS} (namespace ${env.TEMPORAL_NAMESPACE}), pid ${process.pid}`,
  );
  try {
    await running;
  } finally {
    await database.close();
    await tracing?.shutdown();
  }
  console.log('worker: stopped');
}

main().catch((err: unknown) => {
  console.error('worker: fatal', err);
  process.exit(1);
});
