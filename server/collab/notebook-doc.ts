/**
 * The notebook document model: a Y.Doc whose `cells` array holds one Y.Map per cell. Pure (Yjs only,
 * no Node imports) so the browser and the server share it.
 *
 * Cell map keys: `id` (string), `kind` (CellKind), `source` (Y.Text), `collapsed` (boolean).
 *
 * Moving a cell is a delete plus an insert of a new map with the same id and a copy of its text (Yjs
 * 13 has no move). Two consequences every reader must respect:
 * - concurrent moves of one cell leave two maps with the same id: readers take the first occurrence
 *   (`cellsInOrder`), and the next move or delete of that id removes every occurrence;
 * - text typed into a cell by someone else while it is being moved is lost with the old Y.Text.
 */
import * as Y from 'yjs';

export const cellKinds = ['sql', 'ts', 'train', 'score', 'check', 'markdown', 'scenario', 'endpoint'] as const;
export type CellKind = (typeof cellKinds)[number];
export type CellId = string & { readonly __brand: 'CellId' };

export type CellSnapshot = { id: CellId; kind: CellKind; source: string; collapsed: boolean };
/** Plain JSON of a notebook: what the pipeline compiler, diffs and versions consume. */
export type NotebookSnapshot = { cells: CellSnapshot[] };

export type CellMap = Y.Map<unknown>;
export type NewCell = { id?: string; kind: CellKind; source?: string; collapsed?: boolean };

export const isCellKind = (v: unknown): v is CellKind => typeof v === 'string' && (cellKinds as readonly string[]).includes(v);

export function cellsOf(doc: Y.Doc): Y.Array<CellMap> {
  return doc.getArray<CellMap>('cells');
}

export function newCellId(): CellId {
  return globalThis.crypto.randomUUID() as CellId;
}

function makeCell(cell: NewCell): CellMap {
  const map = new Y.Map<unknown>();
  map.set('id', cell.id ?? newCellId());
  map.set('kind', cell.kind);
  map.set('source', new Y.Text(cell.source ?? ''));
  map.set('collapsed', cell.collapsed ?? false);
  return map;
}

const idOf = (m: CellMap): string | undefined => {
  const v = m.get('id');
  return typeof v === 'string' ? v : undefined;
};

/** Every array index holding this id (duplicates come from concurrent moves). */
function indexesOf(doc: Y.Doc, id: string): number[] {
  const out: number[] = [];
  cellsOf(doc).forEach((m, i) => {
    if (idOf(m) === id) out.push(i);
  });
  return out;
}

/** The cell maps in order, one per id (the first occurrence wins), skipping malformed entries. */
export function cellsInOrder(doc: Y.Doc): CellMap[] {
  const seen = new Set<string>();
  const out: CellMap[] = [];
  for (const m of cellsOf(doc).toArray()) {
    const id = m instanceof Y.Map ? idOf(m) : undefined;
    if (id === undefined || seen.has(id)) continue;
    seen.add(id);
    out.push(m);
  }
  return out;
}

export function findCell(doc: Y.Doc, id: string): CellMap | undefined {
  return cellsInOrder(doc).find((m) => idOf(m) === id);
}

/** The cell's text, for editor bindings (y-monaco) and typing. */
export function cellSource(doc: Y.Doc, id: string): Y.Text | undefined {
  const t = findCell(doc, id)?.get('source');
  return t instanceof Y.Text ? t : undefined;
}

/** Inserts a cell at `index` (clamped to the array) and returns its id. */
export function insertCell(doc: Y.Doc, index: number, cell: NewCell): CellId {
  const map = makeCell(cell);
  const cells = cellsOf(doc);
  doc.transact(() => cells.insert(Math.max(0, Math.min(index, cells.length)), [map]));
  return map.get('id') as CellId;
}

export function deleteCell(doc: Y.Doc, id: string): boolean {
  const at = indexesOf(doc, id);
  if (at.length === 0) return false;
  doc.transact(() => {
    for (const i of at.reverse()) cellsOf(doc).delete(i, 1);
  });
  return true;
}

/**
 * Moves a cell so that it ends at `toIndex` in the resulting order, keeping its id, kind, collapsed
 * flag and text (as a new Y.Text with the same content).
 */
export function moveCell(doc: Y.Doc, id: string, toIndex: number): boolean {
  const cell = findCell(doc, id);
  if (!cell) return false;
  const snapshot = snapshotOfCell(cell);
  doc.transact(() => {
    deleteCell(doc, id);
    const cells = cellsOf(doc);
    cells.insert(Math.max(0, Math.min(toIndex, cells.length)), [makeCell(snapshot)]);
  });
  return true;
}

export function setKind(doc: Y.Doc, id: string, kind: CellKind): boolean {
  const cell = findCell(doc, id);
  if (!cell) return false;
  if (cell.get('kind') !== kind) cell.set('kind', kind);
  return true;
}

export function setCollapsed(doc: Y.Doc, id: string, collapsed: boolean): boolean {
  const cell = findCell(doc, id);
  if (!cell) return false;
  if (cell.get('collapsed') !== collapsed) cell.set('collapsed', collapsed);
  return true;
}

function snapshotOfCell(m: CellMap): CellSnapshot {
  const kind = m.get('kind');
  const source = m.get('source');
  return {
    id: idOf(m) as CellId,
    kind: isCellKind(kind) ? kind : 'markdown',
    source: source instanceof Y.Text ? source.toString() : '',
    collapsed: m.get('collapsed') === true,
  };
}

export function notebookSnapshot(doc: Y.Doc): NotebookSnapshot {
  return { cells: cellsInOrder(doc).map(snapshotOfCell) };
}

/** Rewrites `text` into `target` with one delete and one insert between the common prefix and suffix. */
function rewriteText(text: Y.Text, target: string): void {
  const current = text.toString();
  if (current === target) return;
  let start = 0;
  const max = Math.min(current.length, target.length);
  while (start < max && current.charCodeAt(start) === target.charCodeAt(start)) start++;
  let end = 0;
  while (end < max - start && current.charCodeAt(current.length - 1 - end) === target.charCodeAt(target.length - 1 - end)) end++;
  const removed = current.length - start - end;
  if (removed > 0) text.delete(start, removed);
  const inserted = target.slice(start, target.length - end);
  if (inserted) text.insert(start, inserted);
}

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
 * concurrent typing elsewhere in them survives), the fewest cells are moved, the rest are inserted
 * or deleted.
 */
export function applyNotebookSnapshot(doc: Y.Doc, target: NotebookSnapshot): void {
  const targetIds = target.cells.map((c) => c.id);
  if (new Set(targetIds).size !== targetIds.length) throw new Error('a notebook snapshot has two cells with one id');
  const targetIndex = new Map(targetIds.map((id, i) => [id as string, i]));
  doc.transact(() => {
    const cells = cellsOf(doc);
    // 1. Drop cells the target lacks, malformed entries and duplicates.
    const seen = new Set<string>();
    const drop: number[] = [];
    cells.forEach((m, i) => {
      const id = m instanceof Y.Map ? idOf(m) : undefined;
      if (id === undefined || !targetIndex.has(id) || seen.has(id)) drop.push(i);
      else seen.add(id);
    });
    for (const i of drop.reverse()) cells.delete(i, 1);
    // 2. Keep the longest run already in target order; the others are re-inserted where they belong.
    const order = cells.toArray().map((m) => targetIndex.get(idOf(m)!)!);
    const keep = longestIncreasing(order);
    for (let i = order.length - 1; i >= 0; i--) if (!keep.has(i)) cells.delete(i, 1);
    // 3. The live array is now a subsequence of the target: walk both.
    target.cells.forEach((want, i) => {
      const here = i < cells.length ? cells.get(i) : undefined;
      if (here && idOf(here) === want.id) {
        if (here.get('kind') !== want.kind) here.set('kind', want.kind);
        if ((here.get('collapsed') === true) !== want.collapsed) here.set('collapsed', want.collapsed);
        const text = here.get('source');
        if (text instanceof Y.Text) rewriteText(text, want.source);
        else here.set('source', new Y.Text(want.source));
      } else {
        cells.insert(i, [makeCell(want)]);
      }
    });
  });
}

/** A new document holding exactly `snapshot` (fresh history: no tombstones). */
export function docFromSnapshot(snapshot: NotebookSnapshot): Y.Doc {
  const doc = new Y.Doc();
  applyNotebookSnapshot(doc, snapshot);
  return doc;
}
