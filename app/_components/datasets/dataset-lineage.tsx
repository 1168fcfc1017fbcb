'use client';

import { useQueries, useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { cellHref } from '../builds/build-types';
import { cellKindLabel, type CellKind } from '../notebook/cell-kinds';
import { useTRPC } from '../trpc';
import { EmptyState, Loading } from '../ui';

type Use = { notebookId: string; notebookName: string; cellId: string; kind: CellKind; role: 'writes' | 'reads' | 'checks'; detail: string };

/**
 * The cells that write, read and check a dataset, found by compiling each of the project's notebooks
 * as it is now (the compiler is the one authority on what a cell reads).
 */
export function DatasetLineage({ projectId, name }: { projectId: string; name: string }) {
  const trpc = useTRPC();
  const notebooks = useQuery(trpc.notebooks.list.queryOptions({ projectId }));
  const compiled = useQueries({
    queries: (notebooks.data ?? []).map((n) => ({ ...trpc.pipeline.compile.queryOptions({ projectId, notebookId: n.id }), staleTime: 10_000 })),
  });
  const withUses = new Set<string>();
  const uses: Use[] = [];
  (notebooks.data ?? []).forEach((n, i) => {
    for (const node of compiled[i]?.data?.graph.nodes ?? []) {
      if (node.type !== 'cell') continue;
      const base = { notebookId: n.id, notebookName: n.name, cellId: node.cellId, kind: node.kind as CellKind };
      if ((node.kind === 'sql' || node.kind === 'ts' || node.kind === 'python') && node.writes === name) uses.push({ ...base, role: 'writes', detail: node.reads.length ? `from ${node.reads.join(', ')}` : '' });
      if ((node.kind === 'sql' || node.kind === 'ts' || node.kind === 'python') && node.reads.includes(name)) uses.push({ ...base, role: 'reads', detail: `to build ${node.writes}` });
      if (node.kind === 'check' && node.dataset === name) uses.push({ ...base, role: 'checks', detail: node.checks.map((c) => c.type).join(', ') });
      if (node.kind === 'score' && node.writes === name) uses.push({ ...base, role: 'writes', detail: `scores of ${node.reads.join(', ')} by model ${node.model}` });
      if (node.kind === 'score' && node.reads.includes(name)) uses.push({ ...base, role: 'reads', detail: `to score into ${node.writes} with model ${node.model}` });
      if (node.kind === 'train' && node.dataset === name) uses.push({ ...base, role: 'reads', detail: `to train model ${node.model}` });
    }
  });
  for (const u of uses) withUses.add(u.notebookId);
  // Cell numbers as the notebook shows them.
  const snapshots = useQueries({
    queries: [...withUses].map((notebookId) => ({ ...trpc.notebooks.get.queryOptions({ projectId, notebookId }), staleTime: 10_000 })),
  });
  const position = new Map<string, number>();
  for (const s of snapshots) s.data?.snapshot.cells.forEach((c, i) => position.set(c.id, i + 1));

  if (notebooks.isPending || compiled.some((c) => c.isPending)) return <Loading />;
  if (uses.length === 0) return <EmptyState title="No cell uses this dataset yet.">SQL, TypeScript, train and score cells that read or write it, and check cells on it, are listed here.</EmptyState>;

  const groups: { role: Use['role']; title: string }[] = [
    { role: 'writes', title: 'Written by' },
    { role: 'reads', title: 'Read by' },
    { role: 'checks', title: 'Checked by' },
  ];
  return (
    <dl className="lineage">
      {groups.map((g) => {
        const list = uses.filter((u) => u.role === g.role);
        if (list.length === 0) return null;
        return (
          <div key={g.role} className="lineage-group" data-role={g.role}>
            <dt>{g.title}</dt>
            {list.map((u) => (
              <dd key={`${u.notebookId}-${u.cellId}`}>
                <Link href={cellHref(projectId, u.notebookId, u.cellId)} className="strong-link">
                  {u.notebookName} · cell {position.get(u.cellId) ?? '…'}
                </Link>{' '}
                <span className={`cell-kind cell-kind-${u.kind}`}>{cellKindLabel(u.kind)}</span>
                {u.detail && <span className="muted"> {u.detail}</span>}
              </dd>
            ))}
          </div>
        );
      })}
    </dl>
  );
}
