import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import { cellSource, insertCell } from '@/server/domain/notebook-doc';
import { verifyCollabToken } from '@/server/services/notebooks/collab-token';
import { callerFor, trpcCode } from '../helpers/api';
import {
  closeCodeOf,
  connectClient,
  cookieFor,
  seedNotebook,
  startCollabApp,
  storedSnapshot,
  tokenFor,
  type Seeded,
  type TestClient,
} from '../helpers/collab';
import { openTestDatabase, type TestDatabase } from '../helpers/db';

describe('who may open /collab/<notebook>, and what viewers may do', () => {
  let t: TestDatabase;
  let server: Awaited<ReturnType<typeof startCollabApp>>;
  let s: Seeded;
  const clients: TestClient[] = [];
  const client = (...args: Parameters<typeof connectClient>) => {
    const c = connectClient(...args);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    t = await openTestDatabase('postgres');
    server = await startCollabApp(t.db, t.driver, { persistence: { flushDelayMs: 10 } });
    s = await seedNotebook(t.db, 'access');
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await server?.close();
    await t?.dispose();
  });

  it("refuses a viewer's edits on the server: other clients and storage never see them, while the viewer still receives updates", async () => {
    const editor = client(server.wsUrl, s.notebookId, { token: await tokenFor(t.db, s.users.editor, s) });
    // The viewer already holds an offline edit before connecting: its sync step 2 must be refused too.
    const viewerDoc = new Y.Doc();
    insertCell(viewerDoc, 0, { id: 'viewer-offline', kind: 'sql', source: 'drop table x' });
    const viewer = client(server.wsUrl, s.notebookId, { cookie: await cookieFor(t.db, s.users.viewer) }, viewerDoc);
    await vi.waitFor(() => expect(editor.provider.synced && viewer.provider.synced).toBe(true));

    insertCell(viewer.doc, 1, { id: 'viewer-live', kind: 'markdown', source: 'viewer was here' });
    // A fence: awareness is relayed for viewers, and the server handles one socket's frames in order,
    // so once the editor sees this state the viewer's earlier update has been dealt with.
    viewer.provider.awareness.setLocalStateField('user', { name: 'Vera' });
    await vi.waitFor(() => expect([...editor.provider.awareness.getStates().values()].map((v) => v.user?.name)).toContain('Vera'));

    const cellId = insertCell(editor.doc, 0, { id: 'editor-cell', kind: 'sql', source: 'select 1' });
    await vi.waitFor(() => expect(viewer.snapshot().cells.map((c) => c.id)).toContain(cellId));
    cellSource(editor.doc, cellId)!.insert(8, ' as one');
    await vi.waitFor(async () => expect((await storedSnapshot(t.db, s.notebookId)).cells).toEqual([{ id: 'editor-cell', kind: 'sql', source: 'select 1 as one', collapsed: false }]));

    expect(editor.snapshot().cells.map((c) => c.id)).toEqual(['editor-cell']);
    expect(server.app.collab!.stats().droppedViewerUpdates).toBeGreaterThanOrEqual(2);
    // The viewer's own copy still has its refused cells (the UI never lets a viewer make them).
    expect(viewer.snapshot().cells.map((c) => c.id).sort()).toEqual(['editor-cell', 'viewer-live', 'viewer-offline']);
  });

  it('accepts the session cookie and the tRPC token; answers 4401 without valid credentials', async () => {
    const url = `${server.wsUrl}/${s.notebookId}`;
    expect(await closeCodeOf(url)).toBe(4401);
    expect(await closeCodeOf(`${url}?token=v1.nope`)).toBe(4401);
    expect(await closeCodeOf(url, { cookie: 'sb_session=not-a-session' })).toBe(4401);
    const token = await tokenFor(t.db, s.users.viewer, s);
    const [body, mac] = [token.slice(0, token.lastIndexOf('.')), token.slice(token.lastIndexOf('.') + 1)];
    expect(await closeCodeOf(`${url}?token=${encodeURIComponent(`${body}.${mac.slice(1)}A`)}`)).toBe(4401);
    // Expired, and issued for another notebook.
    expect(await verifyCollabToken(t.db, token, s.notebookId, Date.now() + 11 * 60_000)).toBeNull();
    const other = await callerFor(t.db, s.users.admin).notebooks.create({ projectId: s.projectId, name: 'other' });
    expect(await closeCodeOf(`${server.wsUrl}/${other.id}?token=${encodeURIComponent(token)}`)).toBe(4401);
    expect(await verifyCollabToken(t.db, token, s.notebookId)).toBe(s.users.viewer.userId);
  });

  it('answers 4403 to a signed-in non-member, who also cannot get a token, and the stock client stops retrying', async () => {
    const url = `${server.wsUrl}/${s.notebookId}`;
    expect(await closeCodeOf(url, { cookie: await cookieFor(t.db, s.users.outsider) })).toBe(4403);
    expect(await trpcCode(callerFor(t.db, s.users.outsider).notebooks.collabToken({ projectId: s.projectId, notebookId: s.notebookId }))).toBe('FORBIDDEN');
    const outsider = client(server.wsUrl, s.notebookId, { cookie: await cookieFor(t.db, s.users.outsider) });
    const closed = await new Promise<{ code: number }>((resolve) => outsider.provider.on('closed', (e) => resolve(e)));
    expect(closed.code).toBe(4403);
    expect(outsider.provider.shouldConnect).toBe(false);
    expect(outsider.snapshot().cells).toEqual([]);
  });

  it('answers 4404 for an unknown notebook and disconnects everyone with 4404 when the notebook is deleted', async () => {
    const cookie = await cookieFor(t.db, s.users.editor);
    expect(await closeCodeOf(`${server.wsUrl}/00000000-0000-4000-8000-000000000000`, { cookie })).toBe(4404);
    expect(await closeCodeOf(`${server.wsUrl}/not-a-uuid`, { cookie })).toBe(4404);

    const a = callerFor(t.db, s.users.editor);
    const doomed = await a.notebooks.create({ projectId: s.projectId, name: 'doomed' });
    const c = client(server.wsUrl, doomed.id, { cookie });
    await vi.waitFor(() => expect(c.provider.synced).toBe(true));
    const closed = new Promise<{ code: number }>((resolve) => c.provider.on('closed', (e) => resolve(e)));
    await callerFor(t.db, s.users.editor, { liveNotebooks: server.app.collab! }).notebooks.delete({ projectId: s.projectId, notebookId: doomed.id });
    expect((await closed).code).toBe(4404);
    expect(await closeCodeOf(`${server.wsUrl}/${doomed.id}`, { cookie })).toBe(4404);
  });

  it('relays presence (awareness) between clients and clears it when a client leaves', async () => {
    const one = client(server.wsUrl, s.notebookId, { token: await tokenFor(t.db, s.users.editor, s) });
    const two = client(server.wsUrl, s.notebookId, { token: await tokenFor(t.db, s.users.admin, s) });
    one.provider.awareness.setLocalStateField('user', { name: 'One', cell: 'editor-cell' });
    await vi.waitFor(() => expect(two.provider.awareness.getStates().get(one.doc.clientID)?.user).toEqual({ name: 'One', cell: 'editor-cell' }));
    awarenessProtocol.removeAwarenessStates(one.provider.awareness, [one.doc.clientID], 'test');
    await vi.waitFor(() => expect(two.provider.awareness.getStates().has(one.doc.clientID)).toBe(false));
  });
});
