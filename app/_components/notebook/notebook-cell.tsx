'use client';

import { useState } from 'react';
import type { Awareness } from 'y-protocols/awareness';
import type * as Y from 'yjs';
import { deleteCell, moveCell, setCollapsed, setKind } from '@/server/collab/notebook-doc';
import { ConfirmButton } from '../confirm-button';
import { CellEditor } from './cell-editor';
import { CellBuildStatus, CellDiagnostics, CellRunButtons } from './cell-pipeline';
import { cellKindLabel, cellKinds, cellLanguage, type CellKind } from './cell-kinds';
import { MarkdownView } from './markdown-view';
import { useNotebookPipeline } from './notebook-pipeline';
import { Avatar, people, type Peer } from './presence';
import type { CellView } from './use-cells';
import { useText } from './use-cells';

export function NotebookCell({ cell, index, count, doc, awareness, peers, canEdit, autoFocus }: {
  cell: CellView;
  index: number;
  count: number;
  doc: Y.Doc;
  awareness: Awareness;
  peers: Peer[];
  canEdit: boolean;
  /** A cell just added here: open its editor with the caret in it. */
  autoFocus: boolean;
}) {
  const [editingMarkdown, setEditingMarkdown] = useState(autoFocus);
  const here = people(peers.filter((p) => !p.isMe && p.cellId === cell.id));
  const position = index + 1;
  const isMarkdown = cell.kind === 'markdown';
  const showEditor = !cell.collapsed && (!isMarkdown || (canEdit && editingMarkdown));
  const diagnostics = useNotebookPipeline().diagnosticsOf(cell.id);

  return (
    <section className={`cell cell-${cell.kind}${cell.collapsed ? ' cell-collapsed' : ''}`} data-cell-id={cell.id} data-kind={cell.kind} aria-label={`Cell ${position}, ${cellKindLabel(cell.kind)}`}>
      <header className="cell-head">
        <span className="cell-index" aria-hidden>
          [{position}]
        </span>
        {canEdit ? (
          <select className="select-sm cell-kind-select" aria-label={`Kind of cell ${position}`} value={cell.kind} onChange={(e) => setKind(doc, cell.id, e.target.value as CellKind)}>
            {cellKinds.map((k) => (
              <option key={k} value={k}>
                {cellKindLabel(k)}
              </option>
            ))}
          </select>
        ) : (
          <span className={`cell-kind cell-kind-${cell.kind}`}>{cellKindLabel(cell.kind)}</span>
        )}
        {here.length > 0 && (
          <span className="cell-people" aria-label={`In this cell: ${here.map((p) => p.name).join(', ')}`}>
            {here.map((p) => (
              <Avatar key={p.clientId} peer={p} size="sm" />
            ))}
          </span>
        )}
        <span className="cell-head-spacer" />
        <CellRunButtons cellId={cell.id} position={position} />
        {canEdit && (
          <span className="cell-actions">
            <button type="button" className="btn btn-ghost btn-icon" aria-label={cell.collapsed ? `Expand cell ${position}` : `Collapse cell ${position}`} title={cell.collapsed ? 'Expand' : 'Collapse'} onClick={() => setCollapsed(doc, cell.id, !cell.collapsed)}>
              {cell.collapsed ? '▸' : '▾'}
            </button>
            <button type="button" className="btn btn-ghost btn-icon" aria-label={`Move cell ${position} up`} title="Move up" disabled={index === 0} onClick={() => moveCell(doc, cell.id, index - 1)}>
              ↑
            </button>
            <button type="button" className="btn btn-ghost btn-icon" aria-label={`Move cell ${position} down`} title="Move down" disabled={index === count - 1} onClick={() => moveCell(doc, cell.id, index + 1)}>
              ↓
            </button>
            <DeleteCellButton doc={doc} cell={cell} position={position} />
          </span>
        )}
      </header>
      {cell.collapsed ? (
        <CollapsedPreview text={cell.text} />
      ) : showEditor ? (
        <CellEditor
          cellId={cell.id}
          kind={cell.kind}
          text={cell.text}
          language={cellLanguage(cell.kind)}
          readOnly={!canEdit}
          awareness={awareness}
          autoFocus={autoFocus || (isMarkdown && editingMarkdown)}
          onBlur={isMarkdown ? () => setEditingMarkdown(false) : undefined}
          label={`Cell ${position}, ${cellKindLabel(cell.kind)}`}
          diagnostics={diagnostics}
        />
      ) : (
        <MarkdownView text={cell.text} onEdit={canEdit ? () => setEditingMarkdown(true) : undefined} />
      )}
      <CellDiagnostics cellId={cell.id} />
      <CellBuildStatus cellId={cell.id} />
    </section>
  );
}

function DeleteCellButton({ doc, cell, position }: { doc: Y.Doc; cell: CellView; position: number }) {
  const source = useText(cell.text);
  // An empty cell goes at once; one with work in it asks first (there is no undo across users).
  if (!source.trim()) {
    return (
      <button type="button" className="btn btn-sm btn-danger-ghost" aria-label={`Delete cell ${position}`} onClick={() => deleteCell(doc, cell.id)}>
        Delete
      </button>
    );
  }
  return <ConfirmButton label="Delete" confirmLabel="Delete" question={`Delete cell ${position}?`} onConfirm={() => deleteCell(doc, cell.id)} />;
}

function CollapsedPreview({ text }: { text: Y.Text }) {
  const source = useText(text);
  const lines = source.split('\n');
  const first = lines.find((l) => l.trim()) ?? '';
  return (
    <div className="cell-collapsed-preview">
      <code>{first || 'empty'}</code>
      {lines.length > 1 && <span className="muted"> · {lines.length} lines</span>}
    </div>
  );
}
