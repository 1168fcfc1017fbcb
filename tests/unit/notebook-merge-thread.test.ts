import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { mergeToStateOffThread } from '@/server/services/notebooks/merge-off-thread';
import { mergeToState } from '@/server/services/notebooks/storage';

/** A snapshot and rows as compaction reads them: typing, then deleting most of it. */
function storedUpdates(): Uint8Array[] {
  const doc = new Y.Doc();
  const text = doc.getText('t');
  text.insert(0, 'select 1 from churn');
  const rows = [Y.encodeStateAsUpdate(doc)];
  doc.on('update', (u: Uint8Array) => rows.push(u));
  for (let i = 0; i < 200; i++) text.insert(text.length, String(i % 10));
  text.delete(0, 150);
  return rows;
}

describe('notebook merge thread', () => {
  it('folds updates into the same state as mergeToState on the main thread (deleted text collected)', async () => {
    const updates = storedUpdates();
    const state = await mergeToStateOffThread(updates);
    expect(Buffer.from(state).equals(Buffer.from(mergeToState(updates)))).toBe(true);
    const doc = new Y.Doc();
    Y.applyUpdate(doc, state);
    expect(doc.getText('t').length).toBe(19 + 200 - 150);
  });

  it('leaves the caller its updates: they are copied, not taken, even when they are views into a shared buffer', async () => {
    const [first] = storedUpdates();
    const shared = new Uint8Array(first!.byteLength + 16);
    shared.set(first!, 8);
    const view = shared.subarray(8, 8 + first!.byteLength);
    await mergeToStateOffThread([view]);
    expect(shared.byteLength).toBe(first!.byteLength + 16);
    expect(Buffer.from(view).equals(Buffer.from(first!))).toBe(true);
  });

  it('rejects a malformed update and keeps serving the next merge', async () => {
    await expect(mergeToStateOffThread([new Uint8Array([255, 255, 255, 255, 1, 2, 3])])).rejects.toThrow(/merging notebook updates failed/);
    const updates = storedUpdates();
    expect(Buffer.from(await mergeToStateOffThread(updates)).equals(Buffer.from(mergeToState(updates)))).toBe(true);
  });
});
