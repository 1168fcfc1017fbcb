import { Worker } from 'node:worker_threads';
import type { InputColumn } from './records';

/** One output of a session run, as onnxruntime gives it (data: a typed array, or strings). */
export type RunOutput = { data: unknown; dims: readonly number[]; type: string };
export type RunOutputs = Record<string, RunOutput>;

export type ScoringPoolOptions = {
  /** Threads at most (0: no pool, every run stays on the calling thread). */
  threads: number;
  /** Runs over at least this many records go to a thread; smaller ones stay on the main thread. */
  minRecords: number;
  /** onnxruntime session options of each thread's sessions. */
  sessionOptions: Record<string, unknown>;
  /** Models each thread keeps loaded; the least recently used one is dropped past it. */
  modelsPerThread?: number;
};

type Pending = { resolve: (m: Reply) => void; reject: (e: Error) => void };
type Reply = { id: number; ok: true; outputs?: RunOutputs } | { id: number; ok: false; error: string };
type Thread = { worker: Worker; pending: Map<number, Pending>; loaded: Map<string, Promise<void>>; inFlight: number; ended: Error | null };

const ENTRY = new URL('./score-thread.mjs', import.meta.url);

/**
 * Worker threads for large scoring runs. onnxruntime-node's `session.run` holds the thread that
 * calls it for the whole run: on the main thread a 10,000-record request to a tree model stalls
 * every other request (one-record predicts, /api/health) for as long. Runs over `minRecords` go to
 * one of these threads instead (the least busy), each with its own sessions, loaded on first use
 * from bytes the caller has verified. Records are validated and turned into tensor columns on the
 * main thread as before (so errors name the same record and field); only the run moves. Threads
 * start on first use, are unref'd, and are replaced after a crash (the runs in flight on a crashed
 * thread fail: the caller answers 500 as for a failed run on the main thread).
 */
export class ScoringPool {
  /** Switched off by the pool benchmark to measure the main thread alone. */
  enabled = true;
  private readonly threads: (Thread | null)[];
  private nextId = 1;

  constructor(private readonly options: ScoringPoolOptions) {
    this.threads = Array.from({ length: Math.max(0, options.threads) }, () => null);
  }

  /** Whether a run over `records` records goes to a thread. */
  takes(records: number): boolean {
    return this.enabled && this.threads.length > 0 && records >= this.options.minRecords;
  }

  /** Runs the model of artifact `sha256` on `columns` in a thread; `load` gives its verified bytes. */
  async run(sha256: string, load: () => Promise<Uint8Array>, columns: readonly InputColumn[], outputs: readonly string[]): Promise<RunOutputs> {
    const thread = this.pick();
    thread.inFlight++;
    try {
      await this.loadIn(thread, sha256, load);
      // The typed arrays are made for this run alone: moved, not copied.
      const transfer = columns.flatMap((c) => (c.type === 'string' ? [] : [c.data.buffer as ArrayBuffer]));
      const reply = await this.call(thread, { kind: 'run', sha: sha256, columns, outputs }, transfer);
      return reply.outputs!;
    } finally {
      thread.inFlight--;
    }
  }

  /** Threads running now (for tests and the bench). */
  get started(): number {
    return this.threads.filter((t) => t && !t.ended).length;
  }

  async close(): Promise<void> {
    const running = this.threads.map((t, i) => {
      this.threads[i] = null;
      if (!t || t.ended) return undefined;
      this.end(t, new Error('the scoring pool closed'));
      return t.worker.terminate();
    });
    await Promise.all(running);
  }

  /** The least busy thread, started if its slot is empty or its thread died. */
  private pick(): Thread {
    let best = -1;
    for (let i = 0; i < this.threads.length; i++) {
      const t = this.threads[i];
      if (!t || t.ended) {
        this.threads[i] = this.start();
        return this.threads[i]!;
      }
      if (best < 0 || t.inFlight < this.threads[best]!.inFlight) best = i;
    }
    return this.threads[best]!;
  }

  private start(): Thread {
    const worker = new Worker(ENTRY, { workerData: { sessionOptions: this.options.sessionOptions }, execArgv: [] });
    worker.unref();
    const thread: Thread = { worker, pending: new Map(), loaded: new Map(), inFlight: 0, ended: null };
    worker.on('message', (m: Reply) => {
      const p = thread.pending.get(m.id);
      if (!p) return;
      thread.pending.delete(m.id);
      if (m.ok) p.resolve(m);
      else p.reject(new Error(`scoring thread: ${m.error}`));
    });
    worker.on('error', (err) => this.end(thread, new Error(`scoring thread failed: ${err.message}`)));
    worker.on('exit', (code) => this.end(thread, new Error(`scoring thread exited (code ${code})`)));
    return thread;
  }

  private end(thread: Thread, err: Error): void {
    if (thread.ended) return;
    thread.ended = err;
    for (const p of thread.pending.values()) p.reject(err);
    thread.pending.clear();
  }

  private loadIn(thread: Thread, sha256: string, load: () => Promise<Uint8Array>): Promise<void> {
    const hit = thread.loaded.get(sha256);
    if (hit) {
      thread.loaded.delete(sha256);
      thread.loaded.set(sha256, hit);
      return hit;
    }
    const loading = load().then((bytes) => this.call(thread, { kind: 'load', sha: sha256, bytes }, []).then(() => undefined));
    thread.loaded.set(sha256, loading);
    loading.catch(() => {
      if (thread.loaded.get(sha256) === loading) thread.loaded.delete(sha256);
    });
    const max = this.options.modelsPerThread ?? 16;
    while (thread.loaded.size > max) {
      const oldest = thread.loaded.keys().next().value!;
      thread.loaded.delete(oldest);
      // Runs already queued on it come first: the thread handles messages in order.
      thread.worker.postMessage({ kind: 'drop', sha: oldest });
    }
    return loading;
  }

  private call(thread: Thread, message: Record<string, unknown>, transfer: ArrayBuffer[]): Promise<Extract<Reply, { ok: true }>> {
    if (thread.ended) return Promise.reject(thread.ended);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      thread.pending.set(id, { resolve: resolve as (m: Reply) => void, reject });
      thread.worker.postMessage({ ...message, id }, transfer);
    });
  }
}
