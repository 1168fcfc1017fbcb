'use client';

import { useRouter } from 'next/navigation';
import { useCallback } from 'react';
import type * as Y from 'yjs';
import { modelHref } from '../builds/model-step';
import { datasetHref } from '../datasets/format';
import { useNotebookPipeline } from '../notebook/notebook-pipeline';
import { useCellNames } from '../notebook/use-cell-names';
import { EmptyState, Loading } from '../ui';
import { FlowLegend, FlowView } from './flow-view';

/** The Flow tab of a notebook: its compiled graph, coloured by the latest build. */
export function NotebookFlow({ doc, onOpenCell }: { doc: Y.Doc; onOpenCell: (cellId: string) => void }) {
  const p = useNotebookPipeline();
  const router = useRouter();
  const { nameOf: cellTitle } = useCellNames(doc);
  const openDataset = useCallback((name: string) => router.push(datasetHref(p.projectId, name)), [router, p.projectId]);
  const openModel = useCallback((name: string) => router.push(modelHref(p.projectId, name)), [router, p.projectId]);

  if (!p.compiled) return p.compileError ? <p className="error">{p.compileError.message}</p> : <Loading label="Compiling…" />;
  if (p.compiled.graph.nodes.length === 0) {
    return <EmptyState title="Nothing to draw yet.">SQL, TypeScript, check, train and score cells appear here with the datasets they read and write and the models they train and use.</EmptyState>;
  }
  return (
    <section className="card flow-card" aria-label="Flow">
      <div className="card-head">
        <div>
          <h2>Flow</h2>
          <p className="card-description">Datasets and models, and the cells that read, write, check, train and score. Click a cell to edit it, a dataset or model to open it.</p>
        </div>
      </div>
      <FlowView graph={p.compiled.graph} steps={p.currentSteps} diagnostics={p.compiled.diagnostics} cellTitle={cellTitle} onOpenCell={onOpenCell} onOpenDataset={openDataset} onOpenModel={openModel} />
      <FlowLegend />
    </section>
  );
}
