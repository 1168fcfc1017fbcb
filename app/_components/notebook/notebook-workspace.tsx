'use client';

import Link from 'next/link';
import { useSearchParams } from 'next/navigation';
import { useCallback, useEffect, useState } from 'react';
import { insertCell } from '@/server/domain/notebook-doc';
import './cell-output.css';
import { roleAtLeast, type TeamRole } from '../types';
import { EmptyState, Loading, RoleBadge } from '../ui';
import { PromoteButton } from '../bundles/promote-dialog';
import { NotebookFlow } from '../flow/notebook-flow';
import { AddCellBar } from './add-cell-bar';
import type { CellKind } from './cell-kinds';
import { ConnectionNotice, ConnectionStatus } from './connection-status';
import { NotebookBuildBar } from './notebook-build-bar';
import { NotebookCell } from './notebook-cell';
import { NotebookOutputsProvider } from './notebook-outputs';
import { NotebookPipelineProvider } from './notebook-pipeline';
import { ShortcutsButton } from './shortcuts';
import { useCommandMode } from './use-command-mode';
import { useCellNames } from './use-cell-names';
import { useNewCellSource } from './use-new-cell-source';
import { NotebookTitle } from './notebook-title';
import { PresenceAvatars, RemoteSelectionStyles, usePeers } from './presence';
import { useCells } from './use-cells';
import { useNotebookSession, type Me, type NotebookSession } from './use-notebook-session';
import { VersionsPanel } from './versions-panel';

export type NotebookWorkspaceProps = {
  projectId: string;
  notebookId: string;
  name: string;
  project: { name: string; teamId: string; teamName: string };
  role: TeamRole | null;
  me: Me;
};

type View = 'cells' | 'flow';

/**
 * The tab and the cell to show come from the URL (`?view=flow`, `?cell=<id>`), so both can be linked
 * to. Switching tabs replaces the URL without a navigation: the live session stays as it is.
 */
function useView(initial: string | null): [View, (v: View) => void] {
  const [view, setView] = useState<View>(initial === 'flow' ? 'flow' : 'cells');
  const change = useCallback((v: View) => {
    setView(v);
    const url = new URL(window.location.href);
    if (v === 'flow') url.searchParams.set('view', 'flow');
    else url.searchParams.delete('view');
    url.searchParams.delete('cell');
    window.history.replaceState(window.history.state, '', url);
  }, []);
  return [view, change];
}

const FLASH_MS = 1_600;

/** Brings a cell into view and makes it blink once, so the eye finds it. */
function revealCell(cellId: string): boolean {
  const el = document.querySelector<HTMLElement>(`section.cell[data-cell-id="${CSS.escape(cellId)}"]`);
  if (!el) return false;
  el.scrollIntoView({ block: 'center', behavior: 'smooth' });
  el.classList.remove('cell-flash');
  void el.offsetWidth;
  el.classList.add('cell-flash');
  setTimeout(() => el.classList.remove('cell-flash'), FLASH_MS);
  return true;
}

/** The live notebook: loaded only in the browser (Monaco and the WebSocket need it). */
export default function NotebookWorkspace(props: NotebookWorkspaceProps) {
  const { session, connection, loaded } = useNotebookSession(props.notebookId, props.me);
  const canEdit = roleAtLeast(props.role, 'editor');
  const [versionsOpen, setVersionsOpen] = useState(false);
  const { projectId, notebookId, project } = props;
  // From the router, not window.location: on a client-side navigation the component mounts before the address bar changes.
  const params = useSearchParams();
  const [view, setView] = useView(params.get('view'));
  const cellParam = params.get('cell');
  const [revealing, setRevealing] = useState<string | null>(cellParam);
  useEffect(() => {
    if (cellParam) setRevealing(cellParam);
  }, [cellParam]);
  const openCell = useCallback(
    (cellId: string) => {
      setView('cells');
      setRevealing(cellId);
    },
    [setView],
  );
  // The cell may not be rendered yet (the document is still loading, or the tab just switched).
  useEffect(() => {
    if (!revealing || !loaded) return;
    let tries = 0;
    const id = setInterval(() => {
      if (revealCell(revealing) || ++tries > 40) {
        clearInterval(id);
        setRevealing(null);
      }
    }, 50);
    return () => clearInterval(id);
  }, [revealing, loaded]);

  return (
    <NotebookPipelineProvider projectId={projectId} notebookId={notebookId} doc={session?.doc ?? null} canRun={canEdit}>
    <NotebookOutputsProvider projectId={projectId} notebookId={notebookId} doc={session?.doc ?? null} canRun={canEdit}>
    <div className="page notebook-page">
      <header className="page-header">
        <nav className="crumbs" aria-label="Breadcrumb">
          <span className="crumb">
            <Link href="/teams">Teams</Link>
            <span className="crumb-sep" aria-hidden>
              /
            </span>
          </span>
          <span className="crumb">
            <Link href={`/teams/${project.teamId}`}>{project.teamName}</Link>
            <span className="crumb-sep" aria-hidden>
              /
            </span>
          </span>
          <span className="crumb">
            <Link href={`/projects/${projectId}`}>{project.name}</Link>
            <span className="crumb-sep" aria-hidden>
              /
            </span>
          </span>
          <span className="crumb crumb-current" aria-current="page">
            {props.name}
          </span>
        </nav>
        <div className="page-title-row">
          <div className="page-title">
            <NotebookTitle projectId={projectId} notebookId={notebookId} name={props.name} canEdit={canEdit} />
            {props.role && <RoleBadge role={props.role} />}
            {!canEdit && <span className="badge badge-readonly">read-only</span>}
          </div>
          <div className="page-actions notebook-actions">
            <ConnectionStatus connection={connection} />
            {session && <Presence session={session} />}
            <ShortcutsButton />
            <button type="button" className={versionsOpen ? 'btn btn-sm btn-active' : 'btn btn-sm'} aria-pressed={versionsOpen} onClick={() => setVersionsOpen((o) => !o)}>
              Versions
            </button>
            {canEdit && <PromoteButton projectId={projectId} notebookId={notebookId} />}
          </div>
        </div>
      </header>
      <ConnectionNotice connection={connection} />
      <nav className="tabs" aria-label="Notebook views">
        {(['cells', 'flow'] as const).map((v) => (
          <button key={v} type="button" className={view === v ? 'tab tab-button tab-active' : 'tab tab-button'} aria-current={view === v ? 'page' : undefined} onClick={() => setView(v)}>
            {v === 'cells' ? 'Cells' : 'Flow'}
          </button>
        ))}
      </nav>
      {session && loaded ? <NotebookBuildBar doc={session.doc} /> : <NotebookBuildBar doc={null} />}
      <div className={versionsOpen ? 'notebook-layout notebook-layout-versions' : 'notebook-layout'}>
        {/* The cells stay mounted under the Flow tab: their editors and bindings survive the switch. */}
        <div hidden={view !== 'cells'} className="notebook-view">
          {session && loaded ? <Cells session={session} canEdit={canEdit} projectId={projectId} /> : <Loading label="Opening notebook…" />}
        </div>
        {view === 'flow' && <div className="notebook-view">{session && loaded ? <NotebookFlow doc={session.doc} onOpenCell={openCell} /> : <Loading label="Opening notebook…" />}</div>}
        {versionsOpen && session && (
          <VersionsPanel projectId={projectId} notebookId={notebookId} canEdit={canEdit} doc={session.doc} onClose={() => setVersionsOpen(false)} />
        )}
      </div>
    </div>
    </NotebookOutputsProvider>
    </NotebookPipelineProvider>
  );
}

function Presence({ session }: { session: NotebookSession }) {
  const peers = usePeers(session.awareness);
  return (
    <>
      <PresenceAvatars peers={peers} />
      <RemoteSelectionStyles peers={peers} />
    </>
  );
}

function Cells({ session, canEdit, projectId }: { session: NotebookSession; canEdit: boolean; projectId: string }) {
  const { doc, awareness } = session;
  const cells = useCells(doc);
  const peers = usePeers(awareness);
  const { defaultNameOf } = useCellNames(doc);
  const sourceFor = useNewCellSource(projectId, doc, cells);
  const [focusCellId, setFocusCellId] = useState<string | null>(null);
  // Focus is handed to a new cell's editor once, when it mounts; later re-mounts (a move) must not steal it.
  useEffect(() => {
    if (focusCellId && cells.some((c) => c.id === focusCellId)) setFocusCellId(null);
  }, [cells, focusCellId]);
  const add = (kind: CellKind, index: number) => setFocusCellId(insertCell(doc, index, { kind, source: sourceFor(kind, index) }));
  const { onKeyDown, onCommand } = useCommandMode({ doc, cells, canEdit, add });

  return (
    <div className="cells" onKeyDown={onKeyDown}>
      {cells.length === 0 && (
        <EmptyState title="This notebook has no cells yet.">
          {canEdit ? 'Add the first one below: SQL and TypeScript steps, declarative train, score and check cells, or Markdown notes.' : 'Editors of this team can add cells.'}
        </EmptyState>
      )}
      {cells.map((cell, i) => (
        <div key={cell.id} className="cell-slot">
          <NotebookCell cell={cell} index={i} count={cells.length} doc={doc} awareness={awareness} peers={peers} canEdit={canEdit} autoFocus={cell.id === focusCellId} name={defaultNameOf(cell.id)} onCommand={onCommand} />
          {canEdit && i < cells.length - 1 && <AddCellBar variant="between" after={i + 1} onAdd={(k) => add(k, i + 1)} />}
        </div>
      ))}
      {canEdit && <AddCellBar variant="end" onAdd={(k) => add(k, cells.length)} />}
    </div>
  );
}
