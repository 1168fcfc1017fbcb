import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import { cellSource, insertCell, type CellId } from '@/server/domain/notebook-doc';
import { docFromSnapshot } from '@/server/domain/notebook-snapshot';
import { appendUpdates } from '@/server/services/notebooks/storage';
import { connectClient, seedNotebook, startCollabApp, storedSnapshot, tokenFor, type TestClient } from '../helpers/collab';
import { drivers, openTestDatabase, type TestDatabase } from '../helpers/db';

describe.each(drivers)('collab persistence on %s', (driver) => {
  let t: TestDatabase;
  let server: Awaited<ReturnType<typeof startCollabApp>>;
  const clients: TestClient[] = [];
  const client = (...args: Parameters<typeof connectClient>) => {
    const c = connectClient(...args);
    clients.push(c);
    return c;
  };
  const rowCount = async (table: string, notebookId: string) =>
    Number((await t.query(`select count(*)::int as n from ${table} where notebook_id = $1`, [notebookId]))[0]!.n);

  beforeAll(async () => {
    t = await openTestDatabase(driver);
    server = await startCollabApp(t.db, driver, { idleUnloadMs: 200, persistence: { flushDelayMs: 10, retryMinMs: 20, retryMaxMs: 100, compactEvery: 1000 } });
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await server?.close();
    await t?.dispose();
  });

  it('serves a notebook only after its stored state is loaded: the first sync already holds it', async () => {
    const s = await seedNotebook(t.db, 'preloaded');
    const stored = docFromSnapshot({ cells: [{ id: 'c1' as CellId, kind: 'sql', source: 'select 42', collapsed: false }] });
    await t.db.transaction((tx) => appendUpdates(tx, s.notebookId, [Y.encodeStateAsUpdate(stored)]));
    const c = client(server.wsUrl, s.notebookId, { token: await tokenFor(t.db, s.users.editor, s) });
    const atFirstSync = await new Promise<string>((resolve) => c.provider.once('sync', () => resolve(JSON.stringify(c.snapshot()))));
    expect(JSON.parse(atFirstSync)).toEqual({ cells: [{ id: 'c1', kind: 'sql', source: 'select 42', collapsed: false }] });
  });

  it('unloads an idle notebook after a final flush, compacting its updates into a snapshot, and reloads it intact', async () => {
    const s = await seedNotebook(t.db, 'idle');
    const c = client(server.wsUrl, s.notebookId, { token: await tokenFor(t.db, s.users.editor, s) });
    await vi.waitFor(() => expect(c.provider.synced).toBe(true));
    const id = insertCell(c.doc, 0, { kind: 'markdown', source: '# Churn' });
    for (let i = 0; i < 30; i++) cellSource(c.doc, id)!.insert(7, `${i % 10}`);
    const expected = c.snapshot();
    await vi.waitFor(async () => expect(await storedSnapshot(t.db, s.notebookId)).toEqual(expected));
    expect(server.app.collab!.stats().notebooks).toBeGreaterThan(0);
    c.destroy();
    await vi.waitFor(() => expect(server.app.collab!.loaded(s.notebookId)).toBeUndefined(), { timeout: 5_000 });
    expect(await rowCount('notebook_updates', s.notebookId)).toBe(0);
    expect(await rowCount('notebook_snapshots', s.notebookId)).toBe(1);

    const again = client(server.wsUrl, s.notebookId, { token: await tokenFor(t.db, s.users.editor, s) });
    await vi.waitFor(() => expect(again.snapshot()).toEqual(expected));
  });

  it('keeps edits in memory while storage fails, retries, stores them once it recovers, and only then unloads', async () => {
    const s = await seedNotebook(t.db, 'flaky');
    const a = client(server.wsUrl, s.notebookId, { token: await tokenFor(t.db, s.users.editor, s) });
    const b = client(server.wsUrl, s.notebookId, { token: await tokenFor(t.db, s.users.admin, s) });
    await vi.waitFor(() => expect(a.provider.synced && b.provider.synced).toBe(true));
    await t.query(`create function sb_test_fail() returns trigger language plpgsql as $$ begin raise exception 'storage unavailable (test)'; end $$`);
    await t.query(`create trigger sb_test_fail before insert on notebook_updates for each statement execute function sb_test_fail()`);
    try {
      insertCell(a.doc, 0, { id: 'while-down', kind: 'sql', source: 'select now()' });
      // Collaboration goes on: the other client gets the edit although it is not stored.
      await vi.waitFor(() => expect(b.snapshot().cells.map((c) => c.id)).toEqual(['while-down']));
      const nb = server.app.collab!.loaded(s.notebookId)!;
      await vi.waitFor(() => expect(nb.persistence.stats.failures).toBeGreaterThanOrEqual(2));
      expect(nb.persistence.pendingCount).toBeGreaterThan(0);
      expect(await storedSnapshot(t.db, s.notebookId)).toEqual({ cells: [] });
      // Everyone leaves: the notebook must stay in memory, since its edits are nowhere else.
      a.destroy();
      b.destroy();
      await vi.waitFor(() => expect(nb.conns.size).toBe(0));
      // Several more failed retries (at least two idle-unload periods) later, it is still here.
      const failures = nb.persistence.stats.failures;
      await vi.waitFor(() => expect(nb.persistence.stats.failures).toBeGreaterThanOrEqual(failures + 4));
      expect(server.app.collab!.loaded(s.notebookId)).toBe(nb);
    } finally {
      await t.query('drop trigger sb_test_fail on notebook_updates');
      await t.query('drop function sb_test_fail()');
    }
    await vi.waitFor(async () => expect((await storedSnapshot(t.db, s.notebookId)).cells.map((c) => c.id)).toEqual(['while-down']));
    await vi.waitFor(() => expect(server.app.collab!.loaded(s.notebookId)).toBeUndefined(), { timeout: 5_000 });
  });
});
