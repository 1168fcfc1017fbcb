import { cellKindOf } from './cells';
import type { CellKind } from './types';

/** What a cell is called wherever people read about it: the Flow view, run pages, logs, audit details. */
export type NamedCell = { id: string; kind: CellKind; source: string; title?: string | undefined };

/** What the cell makes, from its own text: the dataset it writes, the model it trains, its name. */
export function madeByCell(cell: Pick<NamedCell, 'kind' | 'source'>): string | null {
  return cellKindOf(cell.kind).made(cell.source);
}

/**
 * The cell's name: its title when someone gave it one, else what it makes, else "<kind> cell N"
 * (N: its 1-based position, when known).
 */
export function cellDisplayName(cell: NamedCell, position?: number): string {
  const title = cell.title?.trim();
  if (title) return title;
  const made = madeByCell(cell);
  if (made) return made;
  return position === undefined ? `${cell.kind} cell` : `${cell.kind} cell ${position}`;
}

/** Names of every cell of a notebook, by id. */
export function cellNamesOf(cells: readonly NamedCell[]): Record<string, string> {
  const out: Record<string, string> = {};
  cells.forEach((c, i) => {
    out[c.id] = cellDisplayName(c, i + 1);
  });
  return out;
}
