'use client';

import { useCallback, useEffect, useState, useSyncExternalStore } from 'react';
import * as Y from 'yjs';
import { cellChartOf, cellOutputRefOf, cellsInOrder, cellTitleOf, isCellKind, observeCells, type CellKind, type CellOutputRef, type ChartSpec } from '@/server/domain/notebook-doc';

/** One cell as the page lays it out. */
export type CellView = {
  id: string;
  kind: CellKind;
  collapsed: boolean;
  text: Y.Text;
  title: string;
  chart: ChartSpec | null;
  output: CellOutputRef | null;
};

function readCells(doc: Y.Doc): CellView[] {
  const out: CellView[] = [];
  for (const m of cellsInOrder(doc)) {
    const text = m.get('source');
    const kind = m.get('kind');
    if (!(text instanceof Y.Text)) continue;
    out.push({
      id: m.get('id') as string,
      kind: isCellKind(kind) ? kind : 'markdown',
      collapsed: m.get('collapsed') === true,
      text,
      title: cellTitleOf(m),
      chart: cellChartOf(m),
      output: cellOutputRefOf(m),
    });
  }
  return out;
}

function sameCells(a: CellView[], b: CellView[]): boolean {
  return a.length === b.length && a.every((c, i) => {
    const d = b[i]!;
    return (
      c.id === d.id &&
      c.kind === d.kind &&
      c.collapsed === d.collapsed &&
      c.text === d.text &&
      c.title === d.title &&
      JSON.stringify(c.chart) === JSON.stringify(d.chart) &&
      c.output?.outputId === d.output?.outputId
    );
  });
}

/** The cells' order, kinds, flags, titles, charts and output refs; re-renders on those only, never on typing. */
export function useCells(doc: Y.Doc): CellView[] {
  const [cells, setCells] = useState(() => readCells(doc));
  useEffect(() => {
    let last = readCells(doc);
    setCells(last);
    const onChange = (events: Y.YEvent<Y.AbstractType<unknown>>[]) => {
      if (events.every((e) => e.target instanceof Y.Text)) return;
      const next = readCells(doc);
      if (sameCells(last, next)) return;
      last = next;
      setCells(next);
    };
    return observeCells(doc, onChange);
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
