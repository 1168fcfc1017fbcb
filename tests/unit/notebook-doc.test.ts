import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  cellSource,
  deleteCell,
  cellsInOrder,
  insertCell,
  migrateLegacyCells,
  moveCell,
  notebookSnapshot,
  setCellChart,
  setCellTitle,
  setCollapsed,
  setKind,
  type CellId,
  type NotebookSnapshot,
} from '@/server/domain/notebook-doc';
import { applyNotebookSnapshot, docFromSnapshot } from '@/server/domain/notebook-snapshot';
import { diffSnapshots } from '@/server/services/notebooks/diff-versions';
import { randomEdit, seededRandom } from '../helpers/collab';

const c = (id: string, source = id, kind: 'sql' | 'markdown' = 'sql') => ({ id: id as CellId, kind, source, collapsed: false });
const sync = (a: Y.Doc, b: Y.Doc) => {
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)));
  Y.applyUpdate(a, Y.encodeStateAsUpdate(b, Y.encodeStateVector(a)));
};

describe('the notebook document model', () => {
  it('inserts, moves (keeping id, kind, text and collapsed), changes and deletes cells', () => {
    const doc = new Y.Doc();
    const a = insertCell(doc, 0, { kind: 'sql', source: 'select 1' });
    const b = insertCell(doc, 1, { kind: 'markdown', source: '# b' });
    setCollapsed(doc, a, true);
    setKind(doc, a, 'ts');
    expect(moveCell(doc, a, 1)).toBe(true);
    expect(notebookSnapshot(doc)).toEqual({ cells: [c(b, '# b', 'markdown'), { id: a, kind: 'ts', source: 'select 1', collapsed: true }] });
    cellSource(doc, a)!.insert(0, '-- ');
    expect(deleteCell(doc, b)).toBe(true);
    expect(notebookSnapshot(doc).cells).toEqual([{ id: a, kind: 'ts', source: '-- select 1', collapsed: true }]);
  });

  it('shows a cell moved concurrently by two people once, and the next delete removes it entirely', () => {
    const one = docFromSnapshot({ cells: [c('x'), c('y'), c('z')] });
    const two = new Y.Doc();
    sync(one, two);
    moveCell(one, 'x', 2);
    moveCell(two, 'x', 1);
    sync(one, two);
    expect(notebookSnapshot(one)).toEqual(notebookSnapshot(two));
    expect(notebookSnapshot(one).cells.filter((cell) => cell.id === 'x')).toHaveLength(1);
    deleteCell(one, 'x');
    expect(notebookSnapshot(one).cells.map((cell) => cell.id)).toEqual(['y', 'z']);
  });

  it('transforms any document into any snapshot, whatever edits came before', () => {
    const rnd = seededRandom(99);
    for (let round = 0; round < 30; round++) {
      const doc = new Y.Doc();
      for (let i = 0; i < 40; i++) randomEdit(doc, rnd, `r${round}`);
      const target: NotebookSnapshot = notebookSnapshot(doc);
      for (let i = 0; i < 30; i++) randomEdit(doc, rnd, `s${round}`);
      applyNotebookSnapshot(doc, target);
      expect(notebookSnapshot(doc)).toEqual(target);
    }
  });

  it('keeps text typed concurrently into a cell that a restore rewrites', () => {
    const live = docFromSnapshot({ cells: [c('q', 'select 2 from t')] });
    const other = new Y.Doc();
    sync(live, other);
    cellSource(other, 'q')!.insert('select 2 from t'.length, ' where ok');
    applyNotebookSnapshot(live, { cells: [c('q', 'select 1 from t')] });
    sync(live, other);
    expect(notebookSnapshot(live).cells[0]!.source).toBe('select 1 from t where ok');
  });

  it('diffs two snapshots per cell, placing removed cells where they were', () => {
    const diff = diffSnapshots(
      { cells: [c('a', 'x\ny'), c('gone'), c('b'), c('c'), c('d')] },
      { cells: [c('b'), c('c'), c('d'), c('a', 'x\nz'), c('new')] },
    );
    expect(diff.map((d) => [d.id, d.status, d.moved])).toEqual([
      ['b', 'unchanged', false],
      ['c', 'unchanged', false],
      ['d', 'unchanged', false],
      ['a', 'changed', true],
      ['gone', 'removed', false],
      ['new', 'added', false],
    ]);
    expect(diff[3]!.lines).toEqual([
      { op: 'context', text: 'x' },
      { op: 'del', text: 'y' },
      { op: 'add', text: 'z' },
    ]);
  });

  it('keeps a cell once, with its text, when two people move it at once and another types in it', () => {
    const one = docFromSnapshot({ cells: [c('x', 'select 1'), c('y'), c('z')] });
    const two = new Y.Doc();
    const three = new Y.Doc();
    sync(one, two);
    sync(one, three);
    moveCell(one, 'x', 2);
    moveCell(two, 'x', 1);
    cellSource(three, 'x')!.insert('select 1'.length, ' + 1');
    sync(one, two);
    sync(two, three);
    sync(one, three);
    const cells = notebookSnapshot(one).cells;
    expect(cells.map((cell) => cell.id).sort()).toEqual(['x', 'y', 'z']);
    expect(cells.find((cell) => cell.id === 'x')!.source).toBe('select 1 + 1');
    expect(notebookSnapshot(two)).toEqual(notebookSnapshot(one));
    expect(notebookSnapshot(three)).toEqual(notebookSnapshot(one));
  });

  it('converges with no duplicate or lost cell when clients edit offline and reconnect (seeded random moves, inserts, deletes)', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rnd = seededRandom(seed);
      const docs = [new Y.Doc(), new Y.Doc(), new Y.Doc()];
      const start = docFromSnapshot({ cells: ['a', 'b', 'c', 'd', 'e'].map((id) => c(id)) });
      for (const d of docs) Y.applyUpdate(d, Y.encodeStateAsUpdate(start));
      // Independently of the model: every id ever inserted, and every id some client deleted.
      const inserted = new Set(['a', 'b', 'c', 'd', 'e']);
      const deleted = new Set<string>();
      for (let round = 0; round < 6; round++) {
        // Offline: each client makes a burst of edits without seeing the others.
        docs.forEach((d, k) => {
          for (let i = 0; i < 8; i++) {
            const ids = cellsInOrder(d).map((m) => m.get('id') as string);
            const r = rnd();
            if (ids.length === 0 || r < 0.3) {
              inserted.add(insertCell(d, Math.floor(rnd() * (ids.length + 1)), { kind: 'sql', source: `-- ${seed}.${round}.${k}.${i}` }));
            } else if (r < 0.45) {
              const id = ids[Math.floor(rnd() * ids.length)]!;
              deleteCell(d, id);
              deleted.add(id);
            } else if (r < 0.85) {
              moveCell(d, ids[Math.floor(rnd() * ids.length)]!, Math.floor(rnd() * ids.length));
            } else {
              cellSource(d, ids[Math.floor(rnd() * ids.length)]!)!.insert(0, 'x');
            }
          }
        });
        // Reconnect in a random order.
        const order = [0, 1, 2].sort(() => rnd() - 0.5);
        for (const i of order) for (const j of order) if (i !== j) sync(docs[i]!, docs[j]!);
      }
      const want = [...inserted].filter((id) => !deleted.has(id)).sort();
      for (const d of docs) {
        const ids = notebookSnapshot(d).cells.map((cell) => cell.id);
        expect(new Set(ids).size, `seed ${seed}: duplicate ids`).toBe(ids.length);
        expect([...ids].sort(), `seed ${seed}: cells`).toEqual(want);
        expect(notebookSnapshot(d)).toEqual(notebookSnapshot(docs[0]!));
      }
    }
  });

  it('moves a first-version document (cells in an array, duplicates from old concurrent moves) into the map once', () => {
    const old = new Y.Doc();
    const array = old.getArray<Y.Map<unknown>>('cells');
    const legacyCell = (id: string, source: string) => {
      const m = new Y.Map<unknown>();
      m.set('id', id);
      m.set('kind', 'sql');
      m.set('source', new Y.Text(source));
      m.set('collapsed', false);
      return m;
    };
    array.push([legacyCell('p', 'select 1'), legacyCell('q', 'select 2'), legacyCell('p', 'stale copy')]);
    expect(notebookSnapshot(old).cells.map((cell) => [cell.id, cell.source])).toEqual([
      ['p', 'select 1'],
      ['q', 'select 2'],
    ]);
    expect(migrateLegacyCells(old)).toBe(true);
    expect(array.length).toBe(0);
    expect(notebookSnapshot(old).cells.map((cell) => [cell.id, cell.source])).toEqual([
      ['p', 'select 1'],
      ['q', 'select 2'],
    ]);
    expect(migrateLegacyCells(old)).toBe(false);
    insertCell(old, 1, { id: 'r', kind: 'markdown', source: '# r' });
    expect(notebookSnapshot(old).cells.map((cell) => cell.id)).toEqual(['p', 'r', 'q']);
  });

  it('keeps titles and charts in snapshots and restores them, leaving cells without them as before', () => {
    const doc = docFromSnapshot({ cells: [c('a'), c('b')] });
    setCellTitle(doc, 'a', '  Clean   loans ');
    setCellChart(doc, 'a', { type: 'bar', x: 'grade', y: 'amount', aggregate: 'sum' });
    const snap = notebookSnapshot(doc);
    expect(snap.cells[0]).toEqual({ ...c('a'), title: 'Clean loans', chart: { type: 'bar', x: 'grade', y: 'amount', aggregate: 'sum' } });
    expect(snap.cells[1]).toEqual(c('b'));
    setCellTitle(doc, 'a', '');
    setCellChart(doc, 'a', null);
    expect(notebookSnapshot(doc).cells[0]).toEqual(c('a'));
    applyNotebookSnapshot(doc, snap);
    expect(notebookSnapshot(doc)).toEqual(snap);
  });
});
