import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, NativeConnection, Runtime, Worker, type Logger, type WorkerInterceptors, type WorkerOptions, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Db } from '@/db/client';
import { createActivities } from './activities';
import type { BuildActivityOptions } from './activities/build';
import type { NotificationActivityOptions } from './activities/notifications';
import type { ScenarioActivityOptions } from './activities/scenario';

const require = createRequire(import.meta.url);

export const workflowsPath = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));

const bundles = new Map<string, Promise<WorkflowBundleWithSourceMap>>();

/**
 * Bundling takes about a second and its output depends only on the source, so every worker in the
 * process shares one bundle (per set of workflow interceptor modules: tracing adds one).
 */
export function workflowBundle(interceptorModules: string[] = []): Promise<WorkflowBundleWithSourceMap> {
  const key = interceptorModules.join('\n');
  let bundle = bundles.get(key);
  if (!bundle) {
    bundle = cachedWorkflowBundle(interceptorModules).catch((err: unknown) => {
      bundles.delete(key);
      throw err;
    });
    bundles.set(key, bundle);
  }
  return bundle;
}

const workflowsRoot = fileURLToPath(new URL('.', import.meta.url));
const bundleCacheDir = fileURLToPath(new URL('../node_modules/.cache/stagebook/workflow-bundles/', import.meta.url));

/**
 * What the bundle is made of: the workflow and shared sources (workflow code may import nothing
 * else: lint keeps it to these folders and the SDK) and the SDK packages webpack pulls in, by version.
 */
function bundleKey(interceptorModules: string[]): string {
  const hash = createHash('sha256').update(`node ${process.version}\n`);
  for (const m of interceptorModules) hash.update(`interceptor ${m}\n`);
  for (const pkg of ['workflow', 'common', 'worker']) {
    const json = JSON.parse(readFileSync(require.resolve(`@temporalio/${pkg}/package.json`), 'utf8')) as { version: string };
    hash.update(`@temporalio/${pkg} ${json.version}\n`);
  }
  for (const dir of ['workflows', 'shared']) {
    const files = readdirSync(path.join(workflowsRoot, dir), { recursive: true, encoding: 'utf8' }).sort();
    for (const f of files) {
      const file = path.join(workflowsRoot, dir, f);
      if (!statSync(file).isFile()) continue;
      hash.update(`${dir}/${f}\n`).update(readFileSync(file)).update('\n');
    }
  }
  return hash.digest('hex').slice(0, 32);
}

/**
 * Webpack's bundle, reused from disk when its sources have not changed: bundling costs 1-3 s of CPU
 * on every start (more on a busy machine), and a restart rarely changes a workflow. A cache that
 * cannot be read or written is only slower.
 */
async function cachedWorkflowBundle(interceptorModules: string[]): Promise<WorkflowBundleWithSourceMap> {
  let file: string | null = null;
  try {
    file = path.join(bundleCacheDir, `${bundleKey(interceptorModules)}.json`);
    const cached = JSON.parse(readFileSync(file, 'utf8')) as Partial<WorkflowBundleWithSourceMap>;
    if (typeof cached.code === 'string' && typeof cached.sourceMap === 'string') return { code: cached.code, sourceMap: cached.sourceMap };
  } catch {
    // not cached yet (or unreadable): bundle
  }
  const fresh = await bundleWorkflowCode({ workflowsPath, workflowInterceptorModules: interceptorModules, logger: quieter(Runtime.instance().logger) });
  if (file) {
    try {
      mkdirSync(bundleCacheDir, { recursive: true });
      // Written whole then renamed: a process reading it never sees half a bundle.
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify({ code: fresh.code, sourceMap: fresh.sourceMap }));
      renameSync(tmp, file);
    } catch (err) {
      console.warn(`could not cache the workflow bundle in ${bundleCacheDir}: ${(err as Error).message}`);
    }
  }
  return fresh;
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
  /** OpenTelemetry (server/telemetry/tracing.ts): activity interceptors, the workflow span sink, the bundled workflow interceptors. */
  tracing?: { interceptors: WorkerInterceptors; sinks: NonNullable<WorkerOptions['sinks']>; workflowInterceptorModules: string[] };
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
      workflowBundle: await workflowBundle(opts.tracing?.workflowInterceptorModules),
      ...(opts.tracing ? { interceptors: opts.tracing.interceptors, sinks: opts.tracing.sinks } : {}),
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
