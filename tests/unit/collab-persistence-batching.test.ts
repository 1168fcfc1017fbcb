import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import type { Db } from '@/db/client';
import { NotebookPersistence, type PersistenceOptions } from '@/server/collab/persistence';

const opts: PersistenceOptions = { flushDelayMs: 50, maxBatch: 200, compactEvery: 1_000_000, retryMinMs: 100, retryMaxMs: 5_000 };
const log = { info: () => {}, warn: () => {}, error: () => {} };
const WRITE_MS = 1;

/** A database whose every append takes WRITE_MS of (fake) time: fast storage, as on an idle server. */
function fakeDb(): { db: Db; writes: () => number } {
  let writes = 0;
  const execute = () => new Promise<void>((resolve) => setTimeout(() => resolve(void writes++), WRITE_MS));
  return { db: { execute } as unknown as Db, writes: () => writes };
}

/** One keystroke's update each. */
function keystrokes(n: number): Uint8Array[] {
  const doc = new Y.Doc();
  const updates: Uint8Array[] = [];
  doc.on('update', (u: Uint8Array) => updates.push(u));
  for (let i = 0; i < n; i++) doc.getText('t').insert(i, 'a');
  return updates;
}

describe('collab persistence batching', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'performance'] }));
  afterEach(() => vi.useRealTimers());

  it('stores steady typing as one row per batching window, not one row per keystroke, and every keystroke within its window plus one write', async () => {
    const { db, writes } = fakeDb();
    const p = new NotebookPersistence(db, 'nb', opts, log);
    // One keystroke every 2 ms for 1 s; storage answers in 1 ms, so it is never the bottleneck.
    for (const u of keystrokes(500)) {
      p.enqueue(u);
      await vi.advanceTimersByTimeAsync(2);
      // Only the keystrokes of the last window plus one write are still in memory.
      expect(p.pendingCount).toBeLessThanOrEqual(Math.ceil((opts.flushDelayMs + WRITE_MS) / 2) + 1);
    }
    await vi.advanceTimersByTimeAsync(opts.flushDelayMs + WRITE_MS);
    expect(p.pendingCount).toBe(0);
    expect(p.stats.stored).toBe(500);
    // 1 s of typing in 50 ms windows: about 20 rows (the window of a batch starts at its first keystroke).
    expect(p.stats.rows).toBeLessThanOrEqual(1_000 / opts.flushDelayMs + 1);
    expect(writes()).toBe(p.stats.rows);
  });

  it('writes a keystroke typed during a write once its own window has elapsed, not before', async () => {
    const { db } = fakeDb();
    const p = new NotebookPersistence(db, 'nb', opts, log);
    const [first, second] = keystrokes(2);
    p.enqueue(first!);
    await vi.advanceTimersByTimeAsync(opts.flushDelayMs);
    // The first write is in flight now.
    p.enqueue(second!);
    await vi.advanceTimersByTimeAsync(WRITE_MS);
    expect(p.stats.rows).toBe(1);
    expect(p.pendingCount).toBe(1);
    await vi.advanceTimersByTimeAsync(opts.flushDelayMs - WRITE_MS - 1);
    expect(p.stats.rows).toBe(1);
    await vi.advanceTimersByTimeAsync(1 + WRITE_MS);
    expect(p.stats.rows).toBe(2);
    expect(p.pendingCount).toBe(0);
  });

  it('writes at once what a flush waits for and what fills a batch, window or not', async () => {
    const { db } = fakeDb();
    const p = new NotebookPersistence(db, 'nb', { ...opts, maxBatch: 10 }, log);
    const updates = keystrokes(25);
    for (const u of updates.slice(0, 10)) p.enqueue(u);
    await vi.advanceTimersByTimeAsync(WRITE_MS);
    expect(p.stats.stored).toBe(10);
    for (const u of updates.slice(10)) p.enqueue(u);
    const stored = p.whenStored();
    await vi.advanceTimersByTimeAsync(2 * WRITE_MS);
    await stored;
    expect(p.stats.stored).toBe(25);
    expect(p.pendingCount).toBe(0);
  });
});
