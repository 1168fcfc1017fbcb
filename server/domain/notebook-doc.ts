/**
 * The notebook document model: a Y.Doc whose `cellMap` map holds one Y.Map per cell, keyed by the
 * cell's id. Pure (Yjs, no Node imports) so the browser and the server share it.
 *
 * Cell map keys: `id` (string), `kind` (CellKind), `source` (Y.Text), `collapsed` (boolean),
 * `order` (a fractional index: cells sort by order, then id), `title` (string, '' = default name),
 * `chart` (ChartSpec JSON), `output` (`{ outputId, ranAt }`: the last preview someone ran, so every
 * collaborator's view refetches it).
 *
 * Why order is a property of each cell: Yjs 13 has no array move, and a move made as delete plus
 * insert forks when two people move one cell at once (both inserts survive: a duplicate) and loses
 * text typed into the cell meanwhile. Setting one key of a map cannot fork: concurrent moves of one
 * cell converge on one position (last writer wins), and the cell keeps its Y.Text, so nobody's typing
 * is lost. Two cells inserted at one place at once may get the same order; the id breaks the tie
 * everywhere alike, and the next insert between them re-keys that run.
 *
 * Documents written by the first version keep their cells in a `cells` array; `migrateLegacyCells`
 * moves them into `cellMap` once, on the server, before any client is served (two clients migrating
 * at once would each create the maps).
 */
import * as Y from 'yjs';
import { generateKeyBetween, generateNKeysBetween } from 'fractional-indexing';
import { chartSpecOf, type ChartSpec } from '../pipeline/chart-spec';
import { cellKinds, isCellKind, type CellKind } from './cell-kinds';

export { cellKinds, isCellKind, type CellKind };
export type CellId = string & { readonly __brand: 'CellId' };
export type { ChartSpec };

/** `title` and `chart` are present only when set, so notebooks without them read (and hash) as before. */
export type CellSnapshot = { id: CellId; kind: CellKind; source: string; collapsed: boolean; title?: string; chart?: ChartSpec };
/** Plain JSON of a notebook: what the pipeline compiler, diffs and versions consume. */
export type NotebookSnapshot = { cells: CellSnapshot[] };
/** The preview a collaborator last ran in a cell; the output itself is stored by the server. */
export type CellOutputRef = { outputId: string; ranAt: string };

export type CellMap = Y.Map<unknown>;
export type NewCell = { id?: string; kind: CellKind; source?: string; collapsed?: boolean; title?: string; chart?: ChartSpec | null };

export const MAX_CELL_TITLE = 120;


export function cellMapOf(doc: Y.Doc): Y.Map<CellMap> {
  return doc.getMap<CellMap>('cellMap');
}

function legacyCellsOf(doc: Y.Doc): Y.Array<CellMap> {
  return doc.getArray<CellMap>('cells');
}

export function newCellId(): CellId {
  return globalThis.crypto.randomUUID() as CellId;
}

export const idOf = (m: CellMap): string | undefined => {
  const v = m.get('id');
  return typeof v === 'string' ? v : undefined;
};
export const orderOf = (m: CellMap): string => {
  const v = m.get('order');
  return typeof v === 'string' ? v : '';
};

export function makeCell(cell: NewCell & { id: string }, order: string): CellMap {
  const map = new Y.Map<unknown>();
  map.set('id', cell.id);
  map.set('kind', cell.kind);
  map.set('source', new Y.Text(cell.source ?? ''));
  map.set('collapsed', cell.collapsed ?? false);
  map.set('order', order);
  if (cell.title) map.set('title', cell.title.slice(0, MAX_CELL_TITLE));
  if (cell.chart) map.set('chart', cell.chart);
  return map;
}

const byOrder = (a: CellMap, b: CellMap) => {
  const oa = orderOf(a);
  const ob = orderOf(b);
  if (oa !== ob) return oa < ob ? -1 : 1;
  const ia = idOf(a) ?? '';
  const ib = idOf(b) ?? '';
  return ia < ib ? -1 : ia > ib ? 1 : 0;
};

/** The cell maps in order, skipping malformed entries (a map whose key and id disagree, or without a text). */
export function cellsInOrder(doc: Y.Doc): CellMap[] {
  const map = cellMapOf(doc);
  if (map.size === 0) return legacyCellsInOrder(doc);
  const out: CellMap[] = [];
  map.forEach((m, key) => {
    if (m instanceof Y.Map && idOf(m) === key && m.get('source') instanceof Y.Text) out.push(m);
  });
  return out.sort(byOrder);
}

/** A first-version document, read-only: its array in order, the first occurrence of an id winning. */
function legacyCellsInOrder(doc: Y.Doc): CellMap[] {
  const seen = new Set<string>();
  const out: CellMap[] = [];
  for (const m of legacyCellsOf(doc).toArray()) {
    const id = m instanceof Y.Map ? idOf(m) : undefined;
    if (id === undefined || seen.has(id)) continue;
    seen.add(id);
    out.push(m);
  }
  return out;
}

/**
 * Moves a first-version document's cells from the `cells` array into `cellMap`. Returns whether
 * anything moved. Server only (see the header): the collab server runs it once a stored document is
 * loaded, before serving it; services that edit stored documents run it too.
 */
export function migrateLegacyCells(doc: Y.Doc): boolean {
  const legacy = legacyCellsOf(doc);
  if (legacy.length === 0) return false;
  const snapshot = cellMapOf(doc).size === 0 ? legacyCellsInOrder(doc).map(snapshotOfCell) : [];
  doc.transact(() => {
    const keys = generateNKeysBetween(null, null, snapshot.length);
    snapshot.forEach((cell, i) => cellMapOf(doc).set(cell.id, makeCell(cell, keys[i]!)));
    legacy.delete(0, legacy.length);
  });
  return true;
}

export function findCell(doc: Y.Doc, id: string): CellMap | undefined {
  const m = cellMapOf(doc).get(id);
  if (m instanceof Y.Map && idOf(m) === id) return m;
  return cellMapOf(doc).size === 0 ? legacyCellsInOrder(doc).find((c) => idOf(c) === id) : undefined;
}

/** The cell's text, for editor bindings (y-monaco) and typing. */
export function cellSource(doc: Y.Doc, id: string): Y.Text | undefined {
  const t = findCell(doc, id)?.get('source');
  return t instanceof Y.Text ? t : undefined;
}

/** Calls `onChange` on any change to the cells (structure, kinds, flags, titles, charts, outputs, text). */
export function observeCells(doc: Y.Doc, onChange: (events: Y.YEvent<Y.AbstractType<unknown>>[]) => void): () => void {
  const map = cellMapOf(doc);
  const legacy = legacyCellsOf(doc);
  map.observeDeep(onChange);
  legacy.observeDeep(onChange);
  return () => {
    map.unobserveDeep(onChange);
    legacy.unobserveDeep(onChange);
  };
}

/**
 * An order key that sorts between `before` and `after` (either may be null: an end). Null when no key
 * fits: the two are tied or malformed (a client may write anything), and the caller re-keys.
 */
export function keyBetween(before: string | null, after: string | null): string | null {
  if (before !== null && after !== null && before >= after) return null;
  try {
    return generateKeyBetween(before, after);
  } catch {
    return null;
  }
}

/**
 * Order keys for `count` new cells placed before the cell now at `index` of `order` (the cells in
 * order, without the ones being placed). Re-keys every cell when the neighbours leave no room.
 */
function keysAt(doc: Y.Doc, order: CellMap[], index: number, count: number): string[] {
  const at = Math.max(0, Math.min(index, order.length));
  const before = at > 0 ? orderOf(order[at - 1]!) : null;
  const after = at < order.length ? orderOf(order[at]!) : null;
  if (keyBetween(before, after) !== null) {
    try {
      return generateNKeysBetween(before, after, count);
    } catch {
      // fall through to a re-key
    }
  }
  const all = generateNKeysBetween(null, null, order.length + count);
  const fresh: string[] = [];
  let k = 0;
  for (let i = 0; i <= order.length; i++) {
    if (i === at) for (let j = 0; j < count; j++) fresh.push(all[k++]!);
    if (i < order.length) {
      const key = all[k++]!;
      if (orderOf(order[i]!) !== key) order[i]!.set('order', key);
    }
  }
  void doc;
  return fresh;
}

/** Inserts a cell at `index` (clamped) and returns its id. An id already present is refused. */
export function insertCell(doc: Y.Doc, index: number, cell: NewCell): CellId {
  migrateLegacyCells(doc);
  if (cell.id !== undefined && cellMapOf(doc).has(cell.id)) throw new Error(`a cell with id ${cell.id} already exists`);
  const id = (cell.id ?? newCellId()) as CellId;
  doc.transact(() => {
    const [key] = keysAt(doc, cellsInOrder(doc), index, 1);
    cellMapOf(doc).set(id, makeCell({ ...cell, id }, key!));
  });
  return id;
}

export function deleteCell(doc: Y.Doc, id: string): boolean {
  migrateLegacyCells(doc);
  if (!cellMapOf(doc).has(id)) return false;
  cellMapOf(doc).delete(id);
  return true;
}

/**
 * Moves a cell so that it ends at `toIndex` in the resulting order. Only its `order` changes: it keeps
 * its map, so its text, title, chart and anything typed into it meanwhile stay.
 */
export function moveCell(doc: Y.Doc, id: string, toIndex: number): boolean {
  migrateLegacyCells(doc);
  const cell = findCell(doc, id);
  if (!cell) return false;
  doc.transact(() => {
    const others = cellsInOrder(doc).filter((m) => m !== cell);
    const [key] = keysAt(doc, others, toIndex, 1);
    cell.set('order', key!);
  });
  return true;
}

function setKey(doc: Y.Doc, id: string, key: string, value: unknown): boolean {
  migrateLegacyCells(doc);
  const cell = findCell(doc, id);
  if (!cell) return false;
  if (value === undefined || value === null || value === '') {
    if (cell.has(key)) cell.delete(key);
  } else if (JSON.stringify(cell.get(key)) !== JSON.stringify(value)) {
    cell.set(key, value);
  }
  return true;
}

export function setKind(doc: Y.Doc, id: string, kind: CellKind): boolean {
  return setKey(doc, id, 'kind', kind);
}

export function setCollapsed(doc: Y.Doc, id: string, collapsed: boolean): boolean {
  migrateLegacyCells(doc);
  const cell = findCell(doc, id);
  if (!cell) return false;
  if (cell.get('collapsed') !== collapsed) cell.set('collapsed', collapsed);
  return true;
}

/** A cell's title ('' restores the default name: what the cell makes). */
export function setCellTitle(doc: Y.Doc, id: string, title: string): boolean {
  return setKey(doc, id, 'title', title.replace(/\s+/g, ' ').trim().slice(0, MAX_CELL_TITLE));
}

export function setCellChart(doc: Y.Doc, id: string, spec: ChartSpec | null): boolean {
  return setKey(doc, id, 'chart', spec);
}

export function setCellOutputRef(doc: Y.Doc, id: string, ref: CellOutputRef | null): boolean {
  return setKey(doc, id, 'output', ref);
}

export function cellTitleOf(m: CellMap): string {
  const t = m.get('title');
  return typeof t === 'string' ? t : '';
}

export function cellChartOf(m: CellMap): ChartSpec | null {
  return chartSpecOf(m.get('chart'));
}

export function cellOutputRefOf(m: CellMap): CellOutputRef | null {
  const v = m.get('output');
  if (typeof v !== 'object' || v === null) return null;
  const { outputId, ranAt } = v as Record<string, unknown>;
  return typeof outputId === 'string' && typeof ranAt === 'string' ? { outputId, ranAt } : null;
}

function snapshotOfCell(m: CellMap): CellSnapshot {
  const kind = m.get('kind');
  const source = m.get('source');
  const out: CellSnapshot = {
    id: idOf(m) as CellId,
    kind: isCellKind(kind) ? kind : 'markdown',
    source: source instanceof Y.Text ? source.toString() : '',
    collapsed: m.get('collapsed') === true,
  };
  const title = cellTitleOf(m);
  if (title) out.title = title;
  const chart = cellChartOf(m);
  if (chart) out.chart = chart;
  return out;
}

export function notebookSnapshot(doc: Y.Doc): NotebookSnapshot {
  return { cells: cellsInOrder(doc).map(snapshotOfCell) };
}
