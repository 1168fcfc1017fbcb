/**
 * Snapshots into documents: `applyNotebookSnapshot` turns a notebook document into a snapshot as one
 * edit that merges with concurrent work (restores, stored cells, duplicates), `docFromSnapshot` makes a
 * fresh document. Split from notebook-doc.ts, whose cell helpers it uses.
 */
import * as Y from 'yjs';
import { generateNKeysBetween } from 'fractional-indexing';
import { rewriteText } from './text-edit';
import {
  cellChartOf,
  cellMapOf,
  cellsInOrder,
  cellTitleOf,
  idOf,
  keyBetween,
  makeCell,
  migrateLegacyCells,
  orderOf,
  type CellMap,
  type NotebookSnapshot,
} from './notebook-doc';

/** Indexes (into `seq`) of one longest strictly increasing subsequence. */
export function longestIncreasing(seq: number[]): Set<number> {
  const tails: number[] = [];
  const prev = new Array<number>(seq.length).fill(-1);
  for (let i = 0; i < seq.length; i++) {
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (seq[tails[mid]!]! < seq[i]!) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) prev[i] = tails[lo - 1]!;
    tails[lo] = i;
  }
  const keep = new Set<number>();
  for (let i = tails.length ? tails[tails.length - 1]! : -1; i >= 0; i = prev[i]!) keep.add(i);
  return keep;
}

/**
 * Transforms the document into `target` in one transaction, as a new edit that merges with
 * concurrent work: cells that stay keep their map (their text is rewritten by a minimal diff, so
 * concurrent typing elsewhere in them survives), the fewest cells get a new order, the rest are
 * inserted or deleted. Outputs are not part of a snapshot and stay as they are.
 */
export function applyNotebookSnapshot(doc: Y.Doc, target: NotebookSnapshot): void {
  const targetIds = target.cells.map((c) => c.id);
  if (new Set(targetIds).size !== targetIds.length) throw new Error('a notebook snapshot has two cells with one id');
  const targetIndex = new Map(targetIds.map((id, i) => [id as string, i]));
  migrateLegacyCells(doc);
  doc.transact(() => {
    const map = cellMapOf(doc);
    // 1. Drop cells the target lacks and malformed entries.
    for (const [key, m] of [...map.entries()]) {
      if (!(m instanceof Y.Map) || idOf(m) !== key || !targetIndex.has(key)) map.delete(key);
    }
    // 2. Keep the order of the longest run already in target order; the others get new keys.
    const present = cellsInOrder(doc);
    const keep = longestIncreasing(present.map((m) => targetIndex.get(idOf(m)!)!));
    const kept = new Map<string, CellMap>();
    present.forEach((m, i) => {
      if (keep.has(i)) kept.set(idOf(m)!, m);
    });
    // 3. Walk the target: runs of cells between two kept ones get keys between those two.
    let i = 0;
    let before: string | null = null;
    while (i < target.cells.length) {
      const want = target.cells[i]!;
      const here = kept.get(want.id);
      if (here) {
        before = orderOf(here);
        i++;
        continue;
      }
      let j = i;
      while (j < target.cells.length && !kept.has(target.cells[j]!.id)) j++;
      const next = j < target.cells.length ? kept.get(target.cells[j]!.id)! : null;
      const after = next ? orderOf(next) : null;
      let keys: string[];
      try {
        keys = keyBetween(before, after) === null ? [] : generateNKeysBetween(before, after, j - i);
      } catch {
        keys = [];
      }
      if (keys.length !== j - i) {
        // No room between malformed or tied neighbours: re-key the whole notebook in target order.
        const all = generateNKeysBetween(null, null, target.cells.length);
        target.cells.forEach((c, k) => {
          const m = map.get(c.id);
          if (m) m.set('order', all[k]!);
        });
        keys = all.slice(i, j);
        before = all[j - 1] ?? null;
      } else {
        before = keys[keys.length - 1] ?? before;
      }
      for (let k = i; k < j; k++) {
        const c = target.cells[k]!;
        const existing = map.get(c.id);
        if (existing) existing.set('order', keys[k - i]!);
        else map.set(c.id, makeCell(c, keys[k - i]!));
      }
      i = j;
    }
    // 4. Contents.
    for (const want of target.cells) {
      const here = map.get(want.id)!;
      if (here.get('kind') !== want.kind) here.set('kind', want.kind);
      if ((here.get('collapsed') === true) !== want.collapsed) here.set('collapsed', want.collapsed);
      const text = here.get('source');
      if (text instanceof Y.Text) rewriteText(text, want.source);
      else here.set('source', new Y.Text(want.source));
      if (cellTitleOf(here) !== (want.title ?? '')) {
        if (want.title) here.set('title', want.title);
        else here.delete('title');
      }
      if (JSON.stringify(cellChartOf(here)) !== JSON.stringify(want.chart ?? null)) {
        if (want.chart) here.set('chart', want.chart);
        else here.delete('chart');
      }
    }
  });
}

/** A new document holding exactly `snapshot` (fresh history: no tombstones). */
export function docFromSnapshot(snapshot: NotebookSnapshot): Y.Doc {
  const doc = new Y.Doc();
  applyNotebookSnapshot(doc, snapshot);
  return doc;
}
