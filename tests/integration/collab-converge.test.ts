import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import { connectClient, randomEdit, seedNotebook, seededRandom, startCollabApp, storedSnapshot, tokenFor, type TestClient } from '../helpers/collab';
import { drivers, openTestDatabase, type TestDatabase } from '../helpers/db';

const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

describe.each(drivers)('live co-editing through /collab on %s', (driver) => {
  let t: TestDatabase;
  let server: Awaited<ReturnType<typeof startCollabApp>>;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    t = await openTestDatabase(driver);
    server = await startCollabApp(t.db, driver, { persistence: { flushDelayMs: 20, compactEvery: 25 } });
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await server?.close();
    await t?.dispose();
  });

  it.each([
    { clients: 2, edits: 150, seed: 7 },
    { clients: 10, edits: 40, seed: 1234 },
  ])('$clients stock clients making seeded random edits concurrently converge, and storage holds the same document', { timeout: 60_000 }, async ({ clients: n, edits, seed }) => {
    const s = await seedNotebook(t.db, `converge-${n}`);
    const editors = [s.users.admin, s.users.editor, s.users.deployer];
    const mine: TestClient[] = [];
    for (let i = 0; i < n; i++) {
      const user = editors[i % editors.length]!;
      mine.push(connectClient(server.wsUrl, s.notebookId, { token: await tokenFor(t.db, user, s) }));
    }
    clients.push(...mine);
    await vi.waitFor(() => expect(mine.every((c) => c.provider.synced)).toBe(true), { timeout: 10_000 });

    const rngs = mine.map((_, i) => seededRandom(seed * 1000 + i));
    const done = mine.map(() => [] as string[]);
    for (let round = 0; round < edits; round++) {
      mine.forEach((c, i) => {
        // Some rounds a client sits out, so edits from different clients genuinely cross on the wire.
        if (rngs[i]!() < 0.8) done[i]!.push(randomEdit(c.doc, rngs[i]!, `c${i}r${round}`));
      });
      if (round % 3 === 0) await settle();
    }
    const ops = new Set(done.flat());
    expect([...ops].sort()).toEqual(['collapse', 'delete', 'erase', 'insert', 'kind', 'move', 'type']);

    await vi.waitFor(
      () => {
        const first = JSON.stringify(mine[0]!.snapshot());
        for (const c of mine) expect(JSON.stringify(c.snapshot())).toBe(first);
        for (const c of mine) expect(Y.encodeStateVector(c.doc)).toEqual(Y.encodeStateVector(mine[0]!.doc));
      },
      { timeout: 20_000, interval: 50 },
    );
    const converged = mine[0]!.snapshot();
    expect(converged.cells.length).toBeGreaterThan(0);
    await vi.waitFor(async () => expect(await storedSnapshot(t.db, s.notebookId)).toEqual(converged), { timeout: 10_000, interval: 50 });
  });
});
