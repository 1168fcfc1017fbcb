import { afterAll, beforeAll, describe, expect, it, vi, type MockInstance } from 'vitest';
import { openDatabase, type Database } from '@/db/client';
import { insertCell } from '@/server/domain/notebook-doc';
import { scoringRuntime } from '@/server/services/scoring/runtime';
import { callerFor } from '../helpers/api';
import { connectClient, seedNotebook, startCollabApp, storedSnapshot, tokenFor, type Seeded, type TestClient } from '../helpers/collab';
import { openTestDatabase, type TestDatabase } from '../helpers/db';

/**
 * A collaborator demoted or removed while connected loses write access at once, not at reconnect:
 * with the change made in this process (published after commit) and in another one (a second pool on
 * the same database, which this server only hears of through Postgres LISTEN/NOTIFY).
 */
describe('revoking collab access while connected', () => {
  let t: TestDatabase;
  let other: Database;
  let server: Awaited<ReturnType<typeof startCollabApp>>;
  let warn: MockInstance<typeof console.warn>;
  const clients: TestClient[] = [];
  const client = (...args: Parameters<typeof connectClient>) => {
    const c = connectClient(...args);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    t = await openTestDatabase('postgres');
    other = await openDatabase({ url: t.url!, poolSize: 2 });
    server = await startCollabApp(t.db, t.driver, { persistence: { flushDelayMs: 10 } });
    const listening = scoringRuntime(t.db).listen();
    await listening.ready;
    await listening.release();
    warn = vi.spyOn(console, 'warn');
  });
  afterAll(async () => {
    warn?.mockRestore();
    for (const c of clients) c.destroy();
    await server?.close();
    await other?.close();
    await t?.dispose();
  });

  const denials = (c: TestClient) => warn.mock.calls.filter((args) => String(args[0]).includes(c.provider.url) && String(args[0]).includes('no longer allows editing'));

  async function pair(s: Seeded, who: 'editor' | 'deployer') {
    const admin = client(server.wsUrl, s.notebookId, { token: await tokenFor(t.db, s.users.admin, s) });
    const member = client(server.wsUrl, s.notebookId, { token: await tokenFor(t.db, s.users[who], s) });
    await vi.waitFor(() => expect(admin.provider.synced && member.provider.synced).toBe(true));
    // Before the change, the member's edits go through.
    insertCell(member.doc, 0, { id: `${who}-before`, kind: 'sql', source: 'select 1' });
    await vi.waitFor(() => expect(admin.snapshot().cells.map((c) => c.id)).toContain(`${who}-before`));
    return { admin, member };
  }

  /** The member's edit made after the change never reaches the admin nor storage. */
  async function expectRefused(admin: TestClient, member: TestClient, cellId: string) {
    // A fence: the server handles one socket's frames in order and relays awareness, so once the admin
    // sees this state the earlier edit has been dealt with.
    member.provider.awareness.setLocalStateField('user', { name: cellId });
    await vi.waitFor(() => expect([...admin.provider.awareness.getStates().values()].map((v) => v.user?.name)).toContain(cellId));
    const mark = insertCell(admin.doc, 0, { id: `${cellId}-admin`, kind: 'sql', source: 'select 2' });
    await vi.waitFor(async () => expect((await storedSnapshot(t.db, admin.provider.roomname)).cells.map((c) => c.id)).toContain(mark));
    expect(admin.snapshot().cells.map((c) => c.id)).not.toContain(cellId);
    expect((await storedSnapshot(t.db, admin.provider.roomname)).cells.map((c) => c.id)).not.toContain(cellId);
  }

  it('an editor demoted to viewer in this process: the very next edit is refused, and the client is told why', async () => {
    const s = await seedNotebook(t.db, 'demoted-here');
    const { admin, member } = await pair(s, 'editor');
    await callerFor(t.db, s.users.admin).teams.changeRole({ teamId: s.teamId, userId: s.users.editor.userId, role: 'viewer' });
    // No wait: the change is applied to live connections on commit.
    insertCell(member.doc, 0, { id: 'after-demotion', kind: 'sql', source: 'drop table x' });
    await expectRefused(admin, member, 'after-demotion');
    await vi.waitFor(() => expect(denials(member)).toHaveLength(1));
    // Still connected, still receiving: a viewer.
    expect(member.provider.wsconnected).toBe(true);
    await vi.waitFor(() => expect(member.snapshot().cells.map((c) => c.id)).toContain('after-demotion-admin'));
  });

  it('a member removed from the team in this process is disconnected with 4403 and does not reconnect', async () => {
    const s = await seedNotebook(t.db, 'removed-here');
    const { admin, member } = await pair(s, 'deployer');
    const closes: number[] = [];
    member.provider.on('connection-close', (e) => e && closes.push(e.code));
    await callerFor(t.db, s.users.admin).teams.removeMember({ teamId: s.teamId, userId: s.users.deployer.userId });
    insertCell(member.doc, 0, { id: 'after-removal', kind: 'sql', source: 'drop table x' });
    await vi.waitFor(() => expect(closes).toEqual([4403]));
    const mark = insertCell(admin.doc, 0, { id: 'admin-after-removal', kind: 'sql', source: 'select 3' });
    await vi.waitFor(async () => expect((await storedSnapshot(t.db, s.notebookId)).cells.map((c) => c.id)).toContain(mark));
    expect((await storedSnapshot(t.db, s.notebookId)).cells.map((c) => c.id)).not.toContain('after-removal');
    expect(member.provider.wsconnected).toBe(false);
  });

  it('a demotion made by another process reaches this one through LISTEN/NOTIFY: told, then refused', async () => {
    const s = await seedNotebook(t.db, 'demoted-elsewhere');
    const { admin, member } = await pair(s, 'editor');
    await callerFor(other.db, s.users.admin).teams.changeRole({ teamId: s.teamId, userId: s.users.editor.userId, role: 'viewer' });
    await vi.waitFor(() => expect(denials(member)).toHaveLength(1), { timeout: 10_000 });
    insertCell(member.doc, 0, { id: 'after-remote-demotion', kind: 'sql', source: 'drop table x' });
    await expectRefused(admin, member, 'after-remote-demotion');
  });

  it('a removal made by another process disconnects the member with 4403', async () => {
    const s = await seedNotebook(t.db, 'removed-elsewhere');
    const { member } = await pair(s, 'deployer');
    const closes: number[] = [];
    member.provider.on('connection-close', (e) => e && closes.push(e.code));
    await callerFor(other.db, s.users.admin).teams.removeMember({ teamId: s.teamId, userId: s.users.deployer.userId });
    await vi.waitFor(() => expect(closes).toEqual([4403]), { timeout: 10_000 });
  });

  it('a promotion from viewer to editor lets the next edit through without reconnecting', async () => {
    const s = await seedNotebook(t.db, 'promoted');
    const admin = client(server.wsUrl, s.notebookId, { token: await tokenFor(t.db, s.users.admin, s) });
    const viewer = client(server.wsUrl, s.notebookId, { token: await tokenFor(t.db, s.users.viewer, s) });
    await vi.waitFor(() => expect(admin.provider.synced && viewer.provider.synced).toBe(true));
    await callerFor(t.db, s.users.admin).teams.changeRole({ teamId: s.teamId, userId: s.users.viewer.userId, role: 'editor' });
    insertCell(viewer.doc, 0, { id: 'after-promotion', kind: 'sql', source: 'select 4' });
    await vi.waitFor(() => expect(admin.snapshot().cells.map((c) => c.id)).toContain('after-promotion'));
  });
});
