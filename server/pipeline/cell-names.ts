import { parseDocument } from 'yaml';
import { readHeaders } from './headers';
import type { CellKind } from './types';

/** What a cell is called wherever people read about it: the Flow view, run pages, logs, audit details. */
export type NamedCell = { id: string; kind: CellKind; source: string; title?: string | undefined };

const yamlString = (source: string, key: string): string | null => {
  try {
    const v: unknown = parseDocument(source).get(key);
    return typeof v === 'string' && v.trim() ? v.trim() : null;
  } catch {
    return null;
  }
};

/** What the cell makes, from its own text: the dataset it writes, the model it trains, its name. */
export function madeByCell(cell: Pick<NamedCell, 'kind' | 'source'>): string | null {
  switch (cell.kind) {
    case 'sql': {
      const w = readHeaders(cell.source, '--').get('writes')?.value.trim();
      return w ? w : null;
    }
    case 'ts': {
      const w = readHeaders(cell.source, '//').get('output')?.value.trim();
      return w ? w : null;
    }
    case 'python': {
      const w = readHeaders(cell.source, '#').get('output')?.value.trim();
      return w ? w : null;
    }
    case 'train': {
      const model = yamlString(cell.source, 'model');
      return model ? `train ${model}` : null;
    }
    case 'score':
      return yamlString(cell.source, 'output');
    case 'check': {
      const dataset = yamlString(cell.source, 'dataset');
      return dataset ? `checks on ${dataset}` : null;
    }
    case 'scenario':
    case 'endpoint':
      return yamlString(cell.source, 'name');
    case 'markdown': {
      const heading = /^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$/m.exec(cell.source)?.[1];
      return heading ? heading.slice(0, 80) : null;
    }
  }
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
