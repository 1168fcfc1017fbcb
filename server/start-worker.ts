import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Db } from '@/db/client';
import { createWorker, workflowBundle, type CreateWorkerOptions, type StagebookWorker } from '@/workflows/worker';

export type WorkerTracing = NonNullable<CreateWorkerOptions['tracing']>;

/**
 * The Temporal worker of roles `all` and `worker`. main.ts imports this module only once the HTTP
 * server listens: loading @temporalio/worker (and the activities behind it), loading the workflow
 * bundle and creating the worker take seconds of a start, and nothing before listening needs them.
 */
export async function startStagebookWorker(opts: {
  db: Db;
  address: string;
  namespace: string;
  taskQueue: string;
  logLevel: string;
  /** Where the SDK's core exports its own metrics (task slots, poll latency, sticky cache), if on. */
  metricsAddress: string | null;
  /** OpenTelemetry (server/telemetry/tracing.ts), when OTEL_EXPORTER_OTLP_ENDPOINT is set. */
  tracing?: WorkerTracing;
}): Promise<StagebookWorker> {
  // The SDK logs every worker state change at INFO; keep the console for what an operator needs.
  const sdkLevel = opts.logLevel === 'debug' ? 'DEBUG' : opts.logLevel === 'trace' ? 'TRACE' : 'WARN';
  // Before the bundle: bundling reads Runtime.instance(), after which install() is refused.
  Runtime.install({
    logger: new DefaultLogger(sdkLevel),
    ...(opts.metricsAddress
      ? { telemetryOptions: { metrics: { prometheus: { bindAddress: opts.metricsAddress, countersTotalSuffix: true, useSecondsForDurations: true } } } }
      : {}),
  });
  await workflowBundle(opts.tracing?.workflowInterceptorModules);
  return createWorker({ db: opts.db, address: opts.address, namespace: opts.namespace, taskQueue: opts.taskQueue, ...(opts.tracing ? { tracing: opts.tracing } : {}) });
}
