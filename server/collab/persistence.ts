import type { Db } from '@/db/client';
import * as Y from 'yjs';
import { appendUpdates, compactNotebook } from '../services/notebooks/storage';
import { notifyStoredQuery } from './relay';

export type CollabLog = {
  info: (obj: object, msg: string) => void;
  warn: (obj: object, msg: string) => void;
  error: (obj: object, msg: string) => void;
};

export type PersistenceOptions = {
  /** How long an update may wait for company before it is written (the batching window). */
  flushDelayMs: number;
  /** Updates per row at most; a full batch is written at once. */
  maxBatch: number;
  /** Fold the update rows into the snapshot after this many rows written by this process. */
  compactEvery: number;
  retryMinMs: number;
  retryMaxMs: number;
  /** This server's relay id: tell other web processes of each stored batch (LISTEN/NOTIFY; see relay.ts). */
  relay?: string;
};

export const defaultPersistenceOptions: PersistenceOptions = { flushDelayMs: 50, maxBatch: 200, compactEvery: 100, retryMinMs: 100, retryMaxMs: 5_000 };

/**
 * The write-behind queue of one loaded notebook. Every update applied to the document is queued
 * and appended to `notebook_updates` within `flushDelayMs` (one row per batch, one write in flight).
 * A failed write keeps the batch at the head of the queue and retries with exponential backoff: an
 * edit leaves memory only once it is stored, and the document is not unloaded before that.
 *
 * Updates that arrive while a write is in flight wait for their own window too (unless a full batch
 * or a flush is waiting): writing them as soon as the previous write returns would store about one
 * row per keystroke under steady typing, and every write costs the relay's event loop and the
 * database's CPU (bench/collab.ts, 50 clients, ~280 keystrokes a round: ~100 rows and a compaction
 * before, 10-35 rows after).
 */
export class NotebookPersistence {
  private pending: Uint8Array[] = [];
  /** When each pending update was queued (performance.now()), in step with `pending`. */
  private queuedAt: number[] = [];
  private writing: Promise<void> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private retryDelayMs = 0;
  private rowsSinceCompaction = 0;
  private compacting: Promise<void> | null = null;
  private waiters: (() => void)[] = [];
  private stopped = false;
  /** Counters for tests, the benchmark and logs. */
  readonly stats = { stored: 0, rows: 0, failures: 0, compactions: 0 };

  constructor(
    private readonly db: Db,
    readonly notebookId: string,
    private readonly opts: PersistenceOptions,
    private readonly log: CollabLog,
  ) {}

  get pendingCount(): number {
    return this.pending.length;
  }

  enqueue(update: Uint8Array): void {
    this.pending.push(update);
    this.queuedAt.push(performance.now());
    if (this.pending.length >= this.opts.maxBatch && !this.writing && this.retryDelayMs === 0) this.startNow();
    else this.schedule(this.retryDelayMs || this.opts.flushDelayMs);
  }

  /** Resolves once everything queued so far is stored (however many retries that takes). */
  whenStored(): Promise<void> {
    if (this.pending.length === 0 && !this.writing) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.waiters.push(resolve));
    if (!this.writing && this.retryDelayMs === 0) this.startNow();
    return done;
  }

  /** Stops timers; queued updates stay (the caller decides whether to wait for them first). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(delayMs: number): void {
    if (this.writing || this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.startNow();
    }, delayMs);
  }

  private startNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.writing) return;
    this.writing = this.writeAll().finally(() => {
      this.writing = null;
      if (this.pending.length > 0) this.schedule(this.retryDelayMs || this.msUntilDue());
      else for (const resolve of this.waiters.splice(0)) resolve();
    });
  }

  /** Whether what queued during a write goes next rather than waiting for company. */
  private due(): boolean {
    return this.waiters.length > 0 || this.pending.length >= this.opts.maxBatch || this.msUntilDue() === 0;
  }

  private msUntilDue(): number {
    return Math.max(0, (this.queuedAt[0] ?? 0) + this.opts.flushDelayMs - performance.now());
  }

  private async writeAll(): Promise<void> {
    // The first batch is due (its window elapsed, a full batch, a flush or a retry); later ones only if due() says so.
    for (let first = true; this.pending.length > 0 && (first || this.due()); first = false) {
      // Only appended to at the end while we write, so the head slice is stable.
      const batch = this.pending.slice(0, this.opts.maxBatch);
      try {
        const relay = this.opts.relay;
        if (relay) {
          const merged = batch.length === 1 ? batch[0]! : Y.mergeUpdates(batch);
          // One statement: the other processes are told exactly when the row commits, in one round trip.
          await appendUpdates(this.db, this.notebookId, [merged], notifyStoredQuery(relay, this.notebookId, merged));
        } else await appendUpdates(this.db, this.notebookId, batch);
      } catch (err) {
        this.stats.failures++;
        this.retryDelayMs = Math.min(this.opts.retryMaxMs, Math.max(this.opts.retryMinMs, this.retryDelayMs * 2));
        this.log.error(
          { err, notebookId: this.notebookId, pending: this.pending.length, retryInMs: this.retryDelayMs },
          'collab: storing notebook updates failed; keeping them in memory and retrying',
        );
        return;
      }
      this.pending.splice(0, batch.length);
      this.queuedAt.splice(0, batch.length);
      this.retryDelayMs = 0;
      this.stats.stored += batch.length;
      this.stats.rows++;
      if (++this.rowsSinceCompaction >= this.opts.compactEvery) void this.compact();
    }
  }

  /** Folds stored rows into the snapshot. Failures are logged and retried at the next threshold. */
  compact(): Promise<void> {
    this.compacting ??= compactNotebook(this.db, this.notebookId)
      .then(({ folded }) => {
        if (folded > 0) this.stats.compactions++;
        this.rowsSinceCompaction = 0;
      })
      .catch((err: unknown) => this.log.warn({ err, notebookId: this.notebookId }, 'collab: compaction failed; will retry later'))
      .finally(() => {
        this.compacting = null;
      });
    return this.compacting;
  }
}
