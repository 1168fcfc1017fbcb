import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openDatabase, type Database } from '@/db/client';
import { cellOutputRefOf, findCell, insertCell } from '@/server/domain/notebook-doc';
import { outputRefEdit } from '@/server/services/notebooks/output-ref';
import { appendUpdates, loadStoredUpdate } from '@/server/services/notebooks/storage';
import { connectClient, randomEdit, seedNotebook, seededRandom, startCollabApp, storedSnapshot, tokenFor, type Seeded, type TestClient } from '../helpers/collab';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { openTestDatabase, type TestDatabase } from '../helpers/db';

/**
 * Two web servers, each with its own connection pool (as two processes would have), relaying live
 * edits through Postgres: stock y-websocket clients on different servers see each other's edits
 * and converge to what is stored.
 */
describe('live edits relayed between web servers (STAGEBOOK_COLLAB_RELAY=postgres)', () => {
  let t: TestDatabase;
  let second: Database;
  let servers: Awaited<ReturnType<typeof startCollabApp>>[] = [];
  let seeded: Seeded;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    t = await openTestDatabase('postgres');
    second = await openDatabase({ url: t.url });
    seeded = await seedNotebook(t.db);
    servers = [await startCollabApp(t.db, t.driver, { relay: true }), await startCollabApp(second.db, 'postgres', { relay: true })];
    await Promise.all(servers.map((s) => s.app.collab!.relayReady()));
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    for (const s of servers) await s.close();
    await second?.close();
    await disposeWithProjectRoles(t);
  });

  it('converges when editors on two servers edit one notebook at once', { timeout: 60_000 }, async () => {
    const token = await tokenFor(t.db, seeded.users.editor, seeded);
    for (const s of servers) {
      clients.push(connectClient(s.wsUrl, seeded.notebookId, { token }));
      clients.push(connectClient(s.wsUrl, seeded.notebookId, { token }));
    }
    await vi.waitFor(() => expect(clients.every((c) => c.provider.synced)).toBe(true), { timeout: 20_000 });
    const rnd = seededRandom(16);
    for (let round = 0; round < 30; round++) {
      for (const [i, c] of clients.entries()) randomEdit(c.doc, rnd, `c${i}r${round}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    // Each client's own edits reach a client on the other server, and all agree with storage.
    await vi.waitFor(
      async () => {
        const stored = await storedSnapshot(t.db, seeded.notebookId);
        for (const c of clients) expect(c.snapshot()).toEqual(stored);
      },
      { timeout: 30_000, interval: 200 },
    );
    expect(clients[0]!.snapshot().cells.length).toBeGreaterThan(0);
  });

  it('shows who is here across servers, and forgets them when they leave', { timeout: 30_000 }, async () => {
    const [a, , b] = clients;
    a!.provider.awareness.setLocalStateField('user', { name: 'Ada on server 1' });
    const seenByB = () => [...b!.provider.awareness.getStates().values()].map((s) => (s as { user?: { name: string } }).user?.name);
    await vi.waitFor(() => expect(seenByB()).toContain('Ada on server 1'), { timeout: 10_000 });
    a!.destroy();
    await vi.waitFor(() => expect(seenByB()).not.toContain('Ada on server 1'), { timeout: 10_000 });
  });

  it('relays an edit a service stored itself (a cell output reference) to clients on the other server', { timeout: 30_000 }, async () => {
    const token = await tokenFor(t.db, seeded.users.editor, seeded);
    const onSecond = connectClient(servers[1]!.wsUrl, seeded.notebookId, { token });
    clients.push(onSecond);
    await vi.waitFor(() => expect(onSecond.provider.synced).toBe(true), { timeout: 20_000 });
    const cellId = onSecond.snapshot().cells[0]!.id;
    // What runCell does on the server the author's request reached: store the edit, hand it to its collab server.
    const ref = { outputId: randomUUID(), ranAt: new Date().toISOString() };
    const edit = outputRefEdit(await loadStoredUpdate(t.db, seeded.notebookId), cellId, ref)!;
    await t.db.transaction((tx) => appendUpdates(tx, seeded.notebookId, [edit]));
    servers[0]!.app.collab!.applyStored(seeded.notebookId, edit);
    await vi.waitFor(() => expect(cellOutputRefOf(findCell(onSecond.doc, cellId)!)).toEqual(ref), { timeout: 10_000 });
  });

  it('relays a batch to the other server only once it is stored: while storing fails, clients there see nothing of it', { timeout: 60_000 }, async () => {
    const s = await seedNotebook(t.db, 'storage down');
    const token = await tokenFor(t.db, s.users.editor, s);
    const [writer, samePeer, otherPeer] = [0, 0, 1].map((i) => connectClient(servers[i]!.wsUrl, s.notebookId, { token }));
    clients.push(writer!, samePeer!, otherPeer!);
    await vi.waitFor(() => expect([writer, samePeer, otherPeer].every((c) => c!.provider.synced)).toBe(true), { timeout: 20_000 });
    await t.query(`create function sb_test_fail() returns trigger language plpgsql as $$ begin raise exception 'storage unavailable (test)'; end $$`);
    await t.query(`create trigger sb_test_fail before insert on notebook_updates for each statement execute function sb_test_fail()`);
    const ids = (c: TestClient) => c.snapshot().cells.map((cell) => cell.id);
    try {
      insertCell(writer!.doc, 0, { id: 'unstored', kind: 'sql', source: 'select 1' });
      await vi.waitFor(() => expect(ids(samePeer!)).toEqual(['unstored']));
      const persistence = servers[0]!.app.collab!.loaded(s.notebookId)!.persistence;
      await vi.waitFor(() => expect(persistence.stats.failures).toBeGreaterThanOrEqual(2), { timeout: 20_000 });
      expect(ids(otherPeer!)).toEqual([]);
    } finally {
      await t.query('drop trigger sb_test_fail on notebook_updates');
      await t.query('drop function sb_test_fail()');
    }
    await vi.waitFor(() => expect(ids(otherPeer!)).toEqual(['unstored']), { timeout: 20_000 });
  });
});
