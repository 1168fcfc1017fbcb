import { Worker } from 'node:worker_threads';
import { SandboxCancelled } from '../datasets/sql-sandbox';
import { DEFAULT_TS_CELL_LIMITS, TsCellError, type TsCellLimits } from './ts-cell-sandbox';
import type { TsCellReply, TsCellRequest, TsCellWorkerData } from './ts-cell-worker';

/**
 * A ts cell in a worker thread of its own. QuickJS runs synchronously on whatever thread calls it:
 * on the main thread a cell spinning just under its per-call limit froze predict, /api/health and
 * the activity's heartbeats (so cancellation too). Here the main thread only waits on messages, and
 * the thread is terminated (which stops even a cell QuickJS's interrupt handler never reaches) when
 * a call outlives its limit plus a grace, when the whole step outlives `stepTimeMs`, or on `signal`.
 */
export type TsCellThread = {
  transform(input: string, rowsJson: string): Promise<string>;
  finish(): Promise<string>;
  fixColumns(columns: string[]): Promise<void>;
  close(): Promise<void>;
};

const BOOT = new URL('./ts-cell-worker-boot.mjs', import.meta.url);
/** QuickJS's own stack limit (limits.stackBytes) must trip before the thread's native stack runs out. */
const THREAD_STACK_MB = 16;
/** The in-thread interrupt normally ends a long call at callTimeMs; the host steps in after this much more. */
const CALL_GRACE_MS = 5_000;
/** Starting a thread loads tsx, esbuild and the QuickJS WASM module: slow on a loaded machine. */
const START_GRACE_MS = 60_000;

export async function openTsCellThread(cellId: string, source: string, limits: TsCellLimits, opts: { signal?: AbortSignal } = {}): Promise<TsCellThread> {
  const stepTimeMs = limits.stepTimeMs ?? DEFAULT_TS_CELL_LIMITS.stepTimeMs!;
  const worker = new Worker(BOOT, {
    workerData: { cellId, source, limits } satisfies TsCellWorkerData,
    execArgv: [],
    resourceLimits: { stackSizeMb: THREAD_STACK_MB },
  });
  let ended: Error | null = null;
  let waiting: { resolve: (r: TsCellReply) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | null = null;
  let stepTimer: NodeJS.Timeout | undefined = undefined;

  const end = (err: Error) => {
    if (ended) return;
    ended = err;
    clearTimeout(stepTimer);
    opts.signal?.removeEventListener('abort', onAbort);
    if (waiting) {
      clearTimeout(waiting.timer);
      waiting.reject(err);
      waiting = null;
    }
    void worker.terminate();
  };
  const onAbort = () => end(new SandboxCancelled());
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  worker.on('message', (reply: TsCellReply) => {
    if (!waiting) return;
    clearTimeout(waiting.timer);
    const w = waiting;
    waiting = null;
    w.resolve(reply);
  });
  worker.on('error', (err) => end(new TsCellError(cellId, 'runtime', `the sandbox stopped: ${err.message.slice(0, 200)}`)));
  worker.on('exit', (code) => end(new TsCellError(cellId, 'runtime', `the sandbox stopped (exit code ${code})`)));

  const reply = (what: string, budgetMs: number): Promise<string> =>
    new Promise<TsCellReply>((resolve, reject) => {
      if (ended) return reject(ended);
      const timer = setTimeout(() => end(new TsCellError(cellId, 'time-limit', `${what} ran longer than the time limit of ${limits.callTimeMs} ms per call and was stopped`)), budgetMs);
      waiting = { resolve, reject, timer };
    }).then((r) => {
      if (r.ok) return r.value;
      if ('cellError' in r) {
        // The cell is at fault: its thread has nothing more to do.
        const err = new TsCellError(r.cellError.cellId, r.cellError.reason, r.cellError.detail);
        end(err);
        throw err;
      }
      throw new Error(`ts cell ${cellId}: ${r.error}`);
    });
  const call = (what: string, req: TsCellRequest): Promise<string> => {
    const answer = reply(what, limits.callTimeMs + CALL_GRACE_MS);
    if (!ended) worker.postMessage(req);
    return answer;
  };

  try {
    await reply('loading the module', limits.callTimeMs + START_GRACE_MS);
  } catch (err) {
    end(err instanceof Error ? err : new Error(String(err)));
    throw err;
  }
  // The step's clock starts once the thread is up: starting it is the machine's time, not the cell's.
  stepTimer = setTimeout(() => end(new TsCellError(cellId, 'time-limit', `the step ran longer than its time limit of ${stepTimeMs} ms and was stopped`)), stepTimeMs);
  return {
    transform: (input, rows) => call(`transform (input ${input})`, { op: 'transform', input, rows }),
    finish: () => call('finish', { op: 'finish' }),
    fixColumns: async (columns) => void (await call('fixColumns', { op: 'fixColumns', columns })),
    close: async () => {
      end(new Error(`ts cell ${cellId}: closed`));
      await worker.terminate();
    },
  };
}
