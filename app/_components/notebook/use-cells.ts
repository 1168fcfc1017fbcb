'use client';

import { useCallback, useEffect, useState, useSyncExternalStore } from 'react';
import * as Y from 'yjs';
import { cellsInOrder, cellsOf, isCellKind, type CellKind } from '@/server/collab/notebook-doc';

/** One cell as the page lays it out. `text` changes identity when the cell is moved (a move re-creates it). */
export type CellView = { id: string; kind: CellKind; collapsed: boolean; text: Y.Text };

function readCells(doc: Y.Doc): CellView[] {
  const out: CellView[] = [];
  for (const m of cellsInOrder(doc)) {
    const text = m.get('source');
    const kind = m.get('kind');
    if (!(text instanceof Y.Text)) continue;
    out.push({ id: m.get('id') as string, kind: isCellKind(kind) ? kind : 'markdown', collapsed: m.get('collapsed') === true, text });
  }
  return out;
}

function sameCells(a: CellView[], b: CellView[]): boolean {
  return a.length === b.length && a.every((c, i) => {
    const d = b[i]!;
    return c.id === d.id && c.kind === d.kind && c.collapsed === d.collapsed && c.text === d.text;
  });
}

/** The cells' order, kinds and flags; re-renders on structure changes only, never on typing. */
export function useCells(doc: Y.Doc): CellView[] {
  const [cells, setCells] = useState(() => readCells(doc));
  useEffect(() => {
    const array = cellsOf(doc);
    let last = readCells(doc);
    setCells(last);
    const onChange = (events: Y.YEvent<Y.AbstractType<unknown>>[]) => {
      if (events.every((e) => e.target instanceof Y.Text)) return;
      const next = readCells(doc);
      if (sameCells(last, next)) return;
      last = next;
      setCells(next);
    };
    array.observeDeep(onChange);
    return () => array.unobserveDeep(onChange);
  }, [doc]);
  return cells;
}

/** The text of one Y.Text, kept current (for rendered markdown and collapsed previews). */
export function useText(text: Y.Text): string {
  const subscribe = useCallback(
    (notify: () => void) => {
      text.observe(notify);
      return () => text.unobserve(notify);
    },
    [text],
  );
  const read = useCallback(() => text.toString(), [text]);
  return useSyncExternalStore(subscribe, read, read);
}
