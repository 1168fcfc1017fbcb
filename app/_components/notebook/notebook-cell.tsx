'use client';

import { useEffect, useMemo, useState } from 'react';
import type { Awareness } from 'y-protocols/awareness';
import type * as Y from 'yjs';
import { deleteCell, moveCell, setCellTitle, setCollapsed, setKind } from '@/server/domain/notebook-doc';
import { ConfirmButton } from '../confirm-button';
import { ScenarioCellForm } from '../scenarios/scenario-cell-form';
import { CellEditor, type EditorCommand, type EditorDiagnostic } from './cell-editor';
import { CellOutputArea } from './cell-output';
import { CellBuildStatus, CellDiagnostics, CellPreviewButton, CellRunButtons } from './cell-pipeline';
import { cellKindLabel, cellKinds, cellKindViews, cellLanguage, producesRows, type CellKind } from './cell-kinds';
import { MarkdownView } from './markdown-view';
import { useNotebookOutputs } from './notebook-outputs';
import { useNotebookPipeline } from './notebook-pipeline';
import { Avatar, people, type Peer } from './presence';
import type { CellView } from './use-cells';
import { PythonSandboxNote } from './python-sandbox-note';
import { useText } from './use-cells';

export function NotebookCell({ cell, index, count, doc, awareness, peers, canEdit, autoFocus, name, onCommand }: {
  cell: CellView;
  index: number;
  count: number;
  doc: Y.Doc;
  awareness: Awareness;
  peers: Peer[];
  canEdit: boolean;
  /** A cell just added here: open its editor with the caret in it. */
  autoFocus: boolean;
  /** The cell's default name (what it makes, or `<kind> cell N`): the title field's placeholder. */
  name: string;
  onCommand: (cellId: string, command: EditorCommand) => void;
}) {
  const [editingMarkdown, setEditingMarkdown] = useState(autoFocus);
  const here = people(peers.filter((p) => !p.isMe && p.cellId === cell.id));
  const position = index + 1;
  const isMarkdown = cell.kind === 'markdown';
  const showEditor = !cell.collapsed && (!isMarkdown || (canEdit && editingMarkdown));
  const compileDiagnostics = useNotebookPipeline().diagnosticsOf(cell.id);
  const output = useNotebookOutputs().outputOf(cell.id);
  // A failed run's error sits on its line too (Postgres' position, mapped back to the cell by the server).
  const runError = output?.status === 'error' && output.error?.line ? output.error : null;
  const diagnostics = useMemo<EditorDiagnostic[]>(
    () => (runError ? [...compileDiagnostics, { line: runError.line!, ...(runError.column ? { column: runError.column } : {}), severity: 'error', message: runError.message, code: 'run' }] : compileDiagnostics),
    [compileDiagnostics, runError],
  );

  return (
    <section tabIndex={-1} className={`cell cell-${cell.kind}${cell.collapsed ? ' cell-collapsed' : ''}`} data-cell-id={cell.id} data-kind={cell.kind} aria-label={`Cell ${position}, ${cellKindLabel(cell.kind)}: ${cell.title || name}`}>
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
        <CellTitle doc={doc} cellId={cell.id} title={cell.title} name={name} position={position} canEdit={canEdit} />
        {here.length > 0 && (
          <span className="cell-people" aria-label={`In this cell: ${here.map((p) => p.name).join(', ')}`}>
            {here.map((p) => (
              <Avatar key={p.clientId} peer={p} size="sm" />
            ))}
          </span>
        )}
        <span className="cell-head-spacer" />
        {producesRows(cell.kind) && <CellPreviewButton cellId={cell.id} position={position} />}
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
          selectAll={autoFocus}
          onBlur={isMarkdown ? () => setEditingMarkdown(false) : undefined}
          label={`Cell ${position}, ${cellKindLabel(cell.kind)}`}
          diagnostics={diagnostics}
          onCommand={(c) => onCommand(cell.id, c)}
        />
      ) : (
        <MarkdownView text={cell.text} onEdit={canEdit ? () => setEditingMarkdown(true) : undefined} />
      )}
      <CellDiagnostics cellId={cell.id} />
      {cell.kind === 'python' && <PythonSandboxNote />}
      {cellKindViews[cell.kind].output === 'scenario' && !cell.collapsed && <ScenarioCellForm cellId={cell.id} text={cell.text} canEdit={canEdit} position={position} />}
      {producesRows(cell.kind) && <CellOutputArea cellId={cell.id} kind={cell.kind} text={cell.text} chart={cell.chart} doc={doc} canEdit={canEdit} />}
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

/** The cell's name: typed by anyone, or (empty) what it makes. Written on Enter or blur, not per key. */
function CellTitle({ doc, cellId, title, name, position, canEdit }: { doc: Y.Doc; cellId: string; title: string; name: string; position: number; canEdit: boolean }) {
  const [draft, setDraft] = useState(title);
  useEffect(() => setDraft(title), [title]);
  if (!canEdit) return <span className="cell-title">{title || name}</span>;
  const commit = () => {
    if (draft.trim() !== title) setCellTitle(doc, cellId, draft.trim());
  };
  return (
    <input
      className="cell-title-input"
      aria-label={`Name of cell ${position}`}
      placeholder={name}
      value={draft}
      size={Math.max(8, Math.min(40, (draft || name).length + 1))}
      onChange={(e) => setDraft(e.target.value)}
      onBlur={commit}
      onKeyDown={(e) => {
        if (e.key === 'Enter') {
          commit();
          e.currentTarget.blur();
        } else if (e.key === 'Escape') {
          setDraft(title);
          e.currentTarget.blur();
        }
        e.stopPropagation();
      }}
    />
  );
}
