import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { notebooks } from '@/db/schema';
import { type CellId, type NotebookSnapshot } from '@/server/domain/notebook-doc';
import { docFromSnapshot } from '@/server/domain/notebook-snapshot';
import { verifyAuditChain } from '@/server/services/audit/verify-audit-chain';
import { appendUpdates } from '@/server/services/notebooks/storage';
import { callerFor, trpcCode } from '../helpers/api';
import { seedNotebook, storedSnapshot, type Seeded } from '../helpers/collab';
import { drivers, openTestDatabase, type TestDatabase } from '../helpers/db';

const cell = (id: string, source: string, kind: 'sql' | 'markdown' = 'sql') => ({ id: id as CellId, kind, source, collapsed: false });

describe.each(drivers)('notebooks over tRPC on %s (no collaboration server running)', (driver) => {
  let t: TestDatabase;
  let s: Seeded;
  const ref = () => ({ projectId: s.projectId, notebookId: s.notebookId });
  const write = async (notebookId: string, snapshot: NotebookSnapshot) => {
    await t.db.transaction((tx) => appendUpdates(tx, notebookId, [Y.encodeStateAsUpdate(docFromSnapshot(snapshot))]));
  };

  beforeAll(async () => {
    t = await openTestDatabase(driver);
    s = await seedNotebook(t.db, 'Exploration');
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('creates, lists, renames, duplicates and soft-deletes notebooks, each audited; names are unique among live notebooks', async () => {
    const ed = callerFor(t.db, s.users.editor);
    const nb = await ed.notebooks.create({ projectId: s.projectId, name: 'Scoring' });
    await expect(ed.notebooks.create({ projectId: s.projectId, name: 'Scoring' })).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await trpcCode(callerFor(t.db, s.users.viewer).notebooks.create({ projectId: s.projectId, name: 'Nope' }))).toBe('FORBIDDEN');

    await write(nb.id, { cells: [cell('a', 'select 1'), cell('b', '# Scoring', 'markdown')] });
    const renamed = await ed.notebooks.rename({ projectId: s.projectId, notebookId: nb.id, name: 'Scoring v2' });
    expect(renamed.name).toBe('Scoring v2');
    await expect(ed.notebooks.rename({ projectId: s.projectId, notebookId: nb.id, name: 'Exploration' })).rejects.toMatchObject({ code: 'CONFLICT' });

    const copy = await ed.notebooks.duplicate({ projectId: s.projectId, notebookId: nb.id });
    expect(copy.name).toBe('Scoring v2 (copy)');
    expect((await ed.notebooks.duplicate({ projectId: s.projectId, notebookId: nb.id })).name).toBe('Scoring v2 (copy 2)');
    expect(await storedSnapshot(t.db, copy.id)).toEqual({ cells: [cell('a', 'select 1'), cell('b', '# Scoring', 'markdown')] });

    await ed.notebooks.delete({ projectId: s.projectId, notebookId: nb.id });
    const listed = await callerFor(t.db, s.users.viewer).notebooks.list({ projectId: s.projectId });
    expect(listed.map((n) => n.name).sort()).toEqual(['Exploration', 'Scoring v2 (copy 2)', 'Scoring v2 (copy)'].sort());
    expect(await trpcCode(ed.notebooks.get({ projectId: s.projectId, notebookId: nb.id }))).toBe('NOT_FOUND');
    const [row] = await t.db.select().from(notebooks).where(eq(notebooks.id, nb.id));
    expect(row?.deletedAt).toBeInstanceOf(Date);
    // The name is free again once the notebook is deleted.
    await ed.notebooks.create({ projectId: s.projectId, name: 'Scoring v2' });

    const { events } = await callerFor(t.db, s.users.admin).audit.list({ projectId: s.projectId, limit: 100 });
    const ofNb = events.filter((e) => e.target.id === nb.id).map((e) => e.action);
    expect(ofNb).toEqual(expect.arrayContaining(['notebook.create', 'notebook.rename', 'notebook.delete']));
    expect(events.find((e) => e.action === 'notebook.rename' && e.target.id === nb.id)?.details).toEqual({
      before: { name: 'Scoring' },
      after: { name: 'Scoring v2' },
    });
    expect(events.find((e) => e.action === 'notebook.duplicate' && e.target.id === copy.id)?.details).toMatchObject({ sourceId: nb.id });
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true });
  });

  it('does not let a notebook be reached through another project', async () => {
    const other = await callerFor(t.db, s.users.admin).projects.create({ teamId: s.teamId, name: `Other ${driver}` });
    expect(await trpcCode(callerFor(t.db, s.users.editor).notebooks.get({ projectId: other.id, notebookId: s.notebookId }))).toBe('NOT_FOUND');
  });

  it('saves, diffs and restores versions through storage when no collaboration server holds the notebook', async () => {
    const ed = callerFor(t.db, s.users.editor);
    await write(s.notebookId, { cells: [cell('q', 'select a\nfrom t'), cell('n', 'notes', 'markdown')] });
    const v1 = await ed.notebooks.saveVersion({ ...ref(), message: 'v1' });
    expect(v1.cells).toBe(2);
    await write(s.notebookId, { cells: [cell('q', 'select b\nfrom t'), cell('z', 'new')] });
    // Two writers each made "their" cell q: the stored document merges them (CRDT), so read it back.
    const live = (await ed.notebooks.get(ref())).snapshot;
    const diff = await ed.notebooks.diffVersions({ ...ref(), from: v1.id });
    expect(diff.cells.map((c) => c.id).sort()).toEqual([...new Set([...live.cells.map((c) => c.id), 'q', 'n'])].sort());

    const restored = await ed.notebooks.restoreVersion({ ...ref(), versionId: v1.id });
    expect(restored.changed).toBe(true);
    expect(await storedSnapshot(t.db, s.notebookId)).toEqual({ cells: [cell('q', 'select a\nfrom t'), cell('n', 'notes', 'markdown')] });
    expect((await ed.notebooks.diffVersions({ ...ref(), from: v1.id })).summary).toMatchObject({ added: 0, removed: 0, changed: 0 });
    expect(await ed.notebooks.restoreVersion({ ...ref(), versionId: v1.id })).toMatchObject({ changed: false });

    expect(await trpcCode(callerFor(t.db, s.users.viewer).notebooks.restoreVersion({ ...ref(), versionId: v1.id }))).toBe('FORBIDDEN');
    expect(await trpcCode(ed.notebooks.diffVersions({ ...ref(), from: '00000000-0000-4000-8000-000000000000' }))).toBe('NOT_FOUND');
    expect((await callerFor(t.db, s.users.viewer).notebooks.listVersions(ref())).map((v) => v.message)).toEqual(['v1']);
  });
});
