import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cellSource, insertCell, moveCell } from '@/server/domain/notebook-doc';
import { callerFor } from '../helpers/api';
import { connectClient, seedNotebook, startCollabApp, storedSnapshot, tokenFor, type Seeded, type TestClient } from '../helpers/collab';
import { openTestDatabase, type TestDatabase } from '../helpers/db';

describe('named versions of a live notebook', () => {
  let t: TestDatabase;
  let server: Awaited<ReturnType<typeof startCollabApp>>;
  let s: Seeded;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    t = await openTestDatabase('postgres');
    server = await startCollabApp(t.db, t.driver, { persistence: { flushDelayMs: 10 } });
    s = await seedNotebook(t.db, 'versions');
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await server?.close();
    await t?.dispose();
  });

  it('saves, lists and diffs versions, and restores one as a new edit that a connected client sees and that keeps concurrent work', async () => {
    const api = callerFor(t.db, s.users.editor, { liveNotebooks: server.app.collab! });
    const ref = { projectId: s.projectId, notebookId: s.notebookId };
    const a = connectClient(server.wsUrl, s.notebookId, { token: await tokenFor(t.db, s.users.editor, s) });
    const b = connectClient(server.wsUrl, s.notebookId, { token: await tokenFor(t.db, s.users.admin, s) });
    clients.push(a, b);
    await vi.waitFor(() => expect(a.provider.synced && b.provider.synced).toBe(true));

    insertCell(a.doc, 0, { id: 'load', kind: 'sql', source: 'select *\nfrom customers\nwhere active' });
    insertCell(a.doc, 1, { id: 'notes', kind: 'markdown', source: '# Churn' });
    // Saved from the live document: no need to wait for storage.
    await vi.waitFor(async () => expect((await api.notebooks.get(ref)).snapshot.cells).toHaveLength(2));
    const v1 = await api.notebooks.saveVersion({ ...ref, message: 'first cut' });

    const load = cellSource(a.doc, 'load')!;
    load.delete(load.length - 'active'.length, 'active'.length);
    load.insert(load.length, 'churned');
    insertCell(a.doc, 2, { id: 'train', kind: 'train', source: 'model: gbt' });
    moveCell(a.doc, 'notes', 0);
    await vi.waitFor(async () => expect((await api.notebooks.get(ref)).snapshot.cells.map((c) => c.id)).toEqual(['notes', 'load', 'train']));
    const v2 = await api.notebooks.saveVersion({ ...ref, message: 'train a model' });
    expect((await api.notebooks.listVersions(ref)).map((v) => v.message)).toEqual(['train a model', 'first cut']);

    const diff = await api.notebooks.diffVersions({ ...ref, from: v1.id, to: v2.id });
    expect(diff.summary).toEqual({ added: 1, removed: 0, changed: 1, unchanged: 1 });
    const byId = Object.fromEntries(diff.cells.map((c) => [c.id, c]));
    expect(byId.load!.lines).toEqual([
      { op: 'context', text: 'select *' },
      { op: 'context', text: 'from customers' },
      { op: 'del', text: 'where active' },
      { op: 'add', text: 'where churned' },
    ]);
    expect(byId.train).toMatchObject({ status: 'added', kind: { from: null, to: 'train' }, lines: [{ op: 'add', text: 'model: gbt' }] });
    expect(byId.notes).toMatchObject({ status: 'unchanged', lines: [] });
    expect((await api.notebooks.diffVersions({ ...ref, from: v2.id })).summary).toEqual({ added: 0, removed: 0, changed: 0, unchanged: 3 });
    expect((await api.notebooks.diffVersions({ ...ref, from: v2.id, to: v1.id })).cells.find((c) => c.id === 'train')?.status).toBe('removed');

    // B goes offline and keeps working: it edits a cell the restore rewrites (outside the rewritten
    // span: two inserts at one spot would be ordered by client id), and adds a cell.
    b.provider.disconnect();
    cellSource(b.doc, 'load')!.insert(0, '-- checked by B\n');
    insertCell(b.doc, 3, { id: 'b-offline', kind: 'check', source: 'rows > 0' });

    const restored = await api.notebooks.restoreVersion({ ...ref, versionId: v1.id });
    expect(restored).toMatchObject({ changed: true, cells: 2 });
    // A, connected, sees the restore at once.
    await vi.waitFor(() =>
      expect(a.snapshot().cells).toEqual([
        { id: 'load', kind: 'sql', source: 'select *\nfrom customers\nwhere active', collapsed: false },
        { id: 'notes', kind: 'markdown', source: '# Churn', collapsed: false },
      ]),
    );

    b.provider.connect();
    const merged = [
      { id: 'load', kind: 'sql', source: '-- checked by B\nselect *\nfrom customers\nwhere active', collapsed: false },
      { id: 'notes', kind: 'markdown', source: '# Churn', collapsed: false },
      { id: 'b-offline', kind: 'check', source: 'rows > 0', collapsed: false },
    ];
    await vi.waitFor(() => {
      expect(a.snapshot().cells).toEqual(merged);
      expect(b.snapshot().cells).toEqual(merged);
    });
    await vi.waitFor(async () => expect((await storedSnapshot(t.db, s.notebookId)).cells).toEqual(merged));

    const { events } = await callerFor(t.db, s.users.admin).audit.list({ projectId: s.projectId, limit: 50 });
    const restoreEvent = events.find((e) => e.action === 'notebook.version_restore');
    expect(restoreEvent?.details).toMatchObject({ versionId: v1.id, message: 'first cut', changed: true });
    expect(events.filter((e) => e.action === 'notebook.version_save')).toHaveLength(2);
  });
});
