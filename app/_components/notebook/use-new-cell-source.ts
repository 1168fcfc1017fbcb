'use client';

import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useMemo } from 'react';
import type * as Y from 'yjs';
import { useTRPC } from '../trpc';
import type { CellKind } from './cell-kinds';
import { cellTemplate, pickTarget, type TemplateContext } from './cell-templates';
import { setCompletionCatalog } from './completions';
import { useNotebookPipeline } from './notebook-pipeline';
import type { CellView } from './use-cells';

/**
 * New cells' templates and the editors' autocomplete, both from the project's datasets (with their
 * columns) and models. The train template's positive class comes from its target's values in a
 * preview of the dataset, fetched ahead so adding the cell stays synchronous.
 */
export function useNewCellSource(projectId: string, _doc: Y.Doc, cells: CellView[]): (kind: CellKind, index: number) => string {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const datasets = useQuery(trpc.datasets.list.queryOptions({ projectId, environment: 'design' }, { staleTime: 30_000 }));
  const models = useQuery(trpc.models.list.queryOptions({ projectId }, { staleTime: 30_000 }));
  const compiled = useNotebookPipeline().compiled;

  const writers = useMemo(() => {
    const m = new Map<string, string>();
    for (const n of compiled?.graph.nodes ?? []) if (n.type === 'cell' && 'writes' in n && n.writes) m.set(n.cellId, n.writes);
    return m;
  }, [compiled]);
  const trained = useMemo(() => (compiled?.graph.nodes ?? []).flatMap((n) => (n.type === 'cell' && n.kind === 'train' && n.model ? [n.model] : [])), [compiled]);
  const modelNames = useMemo(() => [...new Set([...trained, ...(models.data ?? []).map((m) => m.name)])], [trained, models.data]);
  const sets = useMemo(() => (datasets.data ?? []).map((d) => ({ name: d.name, columns: d.columns.map((c) => ({ name: c.name, type: c.type })) })), [datasets.data]);

  useEffect(() => setCompletionCatalog({ datasets: sets, models: modelNames }), [sets, modelNames]);

  const lastBefore = useCallback(
    (index: number): string | null => {
      for (let i = Math.min(index, cells.length) - 1; i >= 0; i--) {
        const w = writers.get(cells[i]!.id);
        if (w && sets.some((d) => d.name === w)) return w;
      }
      return sets[sets.length - 1]?.name ?? null;
    },
    [cells, writers, sets],
  );

  // The target values of the dataset a train cell at the end would use: ready before anyone clicks.
  const trainDataset = lastBefore(cells.length);
  const target = sets.find((d) => d.name === trainDataset);
  const targetColumn = target ? pickTarget(target.columns) : null;
  const preview = useQuery(
    trpc.datasets.preview.queryOptions({ projectId, name: trainDataset ?? '', environment: 'design', limit: 500 }, { enabled: !!trainDataset && !!targetColumn, staleTime: 60_000 }),
  );

  return useCallback(
    (kind: CellKind, index: number) => {
      const last = lastBefore(index);
      const ctx: TemplateContext = { datasets: sets, lastDataset: last, taken: new Set([...sets.map((d) => d.name), ...writers.values()]), models: modelNames };
      if (kind === 'train') {
        const d = sets.find((x) => x.name === last);
        const col = d ? pickTarget(d.columns) : null;
        const data = last === trainDataset ? preview.data : queryClient.getQueryData(trpc.datasets.preview.queryKey({ projectId, name: last ?? '', environment: 'design', limit: 500 }));
        if (col && data) {
          const at = data.columns.findIndex((c) => c.name === col);
          const counts = new Map<string, number>();
          for (const r of data.rows) {
            const v = r[at];
            if (v !== null && v !== undefined) counts.set(String(v), (counts.get(String(v)) ?? 0) + 1);
          }
          ctx.targetValues = { target: col, values: [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([v]) => v) };
        }
      }
      return cellTemplate(kind, ctx);
    },
    [lastBefore, sets, writers, modelNames, trainDataset, preview.data, queryClient, trpc, projectId],
  );
}
