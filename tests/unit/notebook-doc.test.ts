import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  applyNotebookSnapshot,
  cellSource,
  deleteCell,
  docFromSnapshot,
  insertCell,
  moveCell,
  notebookSnapshot,
  setCollapsed,
  setKind,
  type CellId,
  type NotebookSnapshot,
} from '@/server/collab/notebook-doc';
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
});
