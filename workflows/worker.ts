import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, NativeConnection, Runtime, Worker, type Logger, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Db } from '@/db/client';
import { createActivities } from './activities';
import type { BuildActivityOptions } from './activities/build';
import type { NotificationActivityOptions } from './activities/notifications';
import type { ScenarioActivityOptions } from './activities/scenario';

export const workflowsPath = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/**
 * Bundling takes about a second and its output depends only on the source, so every worker in the
 * process shares one bundle.
 */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath, logger: quieter(Runtime.instance().logger) }).catch((err: unknown) => {
    bundle = undefined;
    throw err;
  });
  return bundle;
}

/** Webpack's build report is logged at info; it is debugging detail for a server starting up. */
function quieter(logger: Logger): Logger {
  return {
    log: (level, message, meta) => logger.log(level === 'INFO' ? 'DEBUG' : level, message, meta),
    trace: (message, meta) => logger.trace(message, meta),
    debug: (message, meta) => logger.debug(message, meta),
    info: (message, meta) => logger.debug(message, meta),
    warn: (message, meta) => logger.warn(message, meta),
    error: (message, meta) => logger.error(message, meta),
  };
}

export type CreateWorkerOptions = {
  db: Db;
  namespace: string;
  taskQueue: string;
  /** Either a connection the caller owns, or an address to open (and close with the worker). */
  connection?: NativeConnection;
  address?: string;
  identity?: string;
  /** How long in-flight activities get to finish after shutdown is requested. */
  shutdownGraceTime?: string;
  /** How long a workflow task waits for this worker's sticky queue before any worker may take it. */
  stickyQueueScheduleToStartTimeout?: string;
  /** Build limits (parallelism, statement timeout, ts cell sandbox limits); tests shrink them. */
  build?: BuildActivityOptions;
  /** Notification delivery settings (SMTP, public URL); read from the environment when absent. */
  notifications?: NotificationActivityOptions;
  /** Scenario step hooks (tests inject transient failures). */
  scenario?: ScenarioActivityOptions;
};

export type StagebookWorker = {
  worker: Worker;
  /** Polls until shutdown; resolves once the worker has drained (and its own connection is closed). */
  run: () => Promise<void>;
  /** Requests shutdown and waits for `run` to finish. Safe to call more than once. */
  shutdown: () => Promise<void>;
};

export async function createWorker(opts: CreateWorkerOptions): Promise<StagebookWorker> {
  if (!opts.connection && !opts.address) throw new Error('createWorker needs a connection or an address');
  const ownConnection = opts.connection ? undefined : await NativeConnection.connect({ address: opts.address });
  const connection = opts.connection ?? ownConnection!;
  let worker: Worker;
  try {
    worker = await Worker.create({
      connection,
      namespace: opts.namespace,
      taskQueue: opts.taskQueue,
      workflowBundle: await workflowBundle(),
      activities: createActivities({ db: opts.db, ...(opts.build ? { build: opts.build } : {}), ...(opts.notifications ? { notifications: opts.notifications } : {}), ...(opts.scenario ? { scenario: opts.scenario } : {}) }),
      shutdownGraceTime: opts.shutdownGraceTime ?? '10 seconds',
      // A worker that dies without shutting down (SIGKILL, OOM, lost node) keeps its sticky queue;
      // the SDK's 10 s default would stall each of its workflows that long before another worker
      // replays it. Our workflows are short to replay, so give up on the sticky worker sooner.
      stickyQueueScheduleToStartTimeout: opts.stickyQueueScheduleToStartTimeout ?? '3 seconds',
      // Heartbeats reach the server (and cancellation comes back) at most this late; the SDK's
      // default, 80% of the heartbeat timeout, would leave a cancelled build step running ~8 s.
      maxHeartbeatThrottleInterval: '1 second',
      ...(opts.identity ? { identity: opts.identity } : {}),
    });
  } catch (err) {
    await ownConnection?.close();
    throw err;
  }

  let running: Promise<void> | undefined;
  let connectionClosed: Promise<void> | undefined;
  const closeOwnConnection = () => (connectionClosed ??= ownConnection?.close() ?? Promise.resolve());
  const run = () => (running ??= worker.run().finally(closeOwnConnection));
  return {
    worker,
    run,
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      if (running) await running;
      else await closeOwnConnection();
    },
  };
}
