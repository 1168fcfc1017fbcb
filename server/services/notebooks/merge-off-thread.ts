import { Worker } from 'node:worker_threads';

const ENTRY = new URL('./merge-thread.mjs', import.meta.url);

type Waiting = { resolve: (state: Uint8Array) => void; reject: (err: Error) => void };
let thread: { worker: Worker; waiting: Map<number, Waiting> } | null = null;
let nextId = 0;

/**
 * `mergeToState` (storage.ts) on a worker thread of its own, for compaction: folding a notebook's
 * snapshot and rows through a Y.Doc takes tens of milliseconds (more for big notebooks), which on
 * the main thread stalled the relay of every live notebook of the process. One thread, started at
 * the first call and kept (unref'd: it never holds the process open); a crashed one is replaced at
 * the next call, and its callers' promises reject (compaction logs and retries later).
 */
export function mergeToStateOffThread(updates: Uint8Array[]): Promise<Uint8Array> {
  const t = (thread ??= startThread());
  const id = nextId++;
  return new Promise<Uint8Array>((resolve, reject) => {
    t.waiting.set(id, { resolve, reject });
    // Exact copies, then transferred: pg's Buffers are views into pooled ArrayBuffers, which a
    // structured clone would copy whole (and a transfer would take from their other users).
    const copies = updates.map((u) => u.slice());
    t.worker.postMessage(
      { id, updates: copies },
      copies.map((c) => c.buffer),
    );
  });
}

function startThread(): NonNullable<typeof thread> {
  const worker = new Worker(ENTRY, { execArgv: [] });
  worker.unref();
  const t = { worker, waiting: new Map<number, Waiting>() };
  const fail = (err: Error) => {
    if (thread === t) thread = null;
    for (const w of t.waiting.values()) w.reject(err);
    t.waiting.clear();
  };
  worker.on('message', (m: { id: number; state?: Uint8Array; error?: string }) => {
    const w = t.waiting.get(m.id);
    if (!w) return;
    t.waiting.delete(m.id);
    if (m.state) w.resolve(m.state);
    else w.reject(new Error(`merging notebook updates failed: ${m.error ?? 'unknown error'}`));
  });
  worker.on('error', (err) => fail(err));
  worker.on('exit', (code) => fail(new Error(`the notebook merge thread stopped (exit code ${code})`)));
  return t;
}
