'use client';

import { useCallback, useMemo } from 'react';
import type * as Y from 'yjs';
import type { PipelineGraph } from '../builds/build-types';
import { cellKindLabel } from './cell-kinds';
import { useNotebookPipeline } from './notebook-pipeline';
import { useCells } from './use-cells';

type GraphNode = PipelineGraph['nodes'][number];

/** What a compiled cell makes, as its name: the dataset it writes, the model it trains, its scenario or endpoint. */
function madeBy(n: GraphNode): string | null {
  if (n.type !== 'cell') return null;
  const named = (n as { name?: unknown }).name;
  if (typeof named === 'string' && named) return named;
  switch (n.kind) {
    case 'sql':
    case 'ts':
    case 'python':
    case 'score':
      return n.writes || null;
    case 'train':
      return n.model || null;
    case 'check':
      return n.dataset ? `checks on ${n.dataset}` : null;
    default:
      return null;
  }
}

/**
 * Each cell's name everywhere in the notebook (header, Flow, skipped list): its title, else what it
 * makes, else `<kind> cell N` (the contract's `cellDisplayName`, read on the compiled graph).
 */
export function useCellNames(doc: Y.Doc): { nameOf: (cellId: string) => string; defaultNameOf: (cellId: string) => string } {
  const cells = useCells(doc);
  const compiled = useNotebookPipeline().compiled;
  const made = useMemo(() => {
    const m = new Map<string, string>();
    for (const n of compiled?.graph.nodes ?? []) {
      const name = n.type === 'cell' ? madeBy(n) : null;
      if (n.type === 'cell' && name) m.set(n.cellId, name);
    }
    return m;
  }, [compiled]);
  const defaultNameOf = useCallback(
    (cellId: string) => {
      const i = cells.findIndex((c) => c.id === cellId);
      const cell = cells[i];
      return made.get(cellId) ?? (cell ? `${cellKindLabel(cell.kind)} cell ${i + 1}` : `cell ${cellId.slice(0, 8)}`);
    },
    [cells, made],
  );
  const nameOf = useCallback((cellId: string) => cells.find((c) => c.id === cellId)?.title || defaultNameOf(cellId), [cells, defaultNameOf]);
  return { nameOf, defaultNameOf };
}
