'use client';

import Link from 'next/link';
import { useEffect, useState } from 'react';
import { insertCell } from '@/server/collab/notebook-doc';
import { roleAtLeast, type TeamRole } from '../types';
import { EmptyState, Loading, RoleBadge } from '../ui';
import { AddCellBar } from './add-cell-bar';
import type { CellKind } from './cell-kinds';
import { ConnectionNotice, ConnectionStatus } from './connection-status';
import { NotebookCell } from './notebook-cell';
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

/** The live notebook: loaded only in the browser (Monaco and the WebSocket need it). */
export default function NotebookWorkspace(props: NotebookWorkspaceProps) {
  const { session, connection, loaded } = useNotebookSession(props.notebookId, props.me);
  const canEdit = roleAtLeast(props.role, 'editor');
  const [versionsOpen, setVersionsOpen] = useState(false);
  const { projectId, notebookId, project } = props;

  return (
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
            <button type="button" className={versionsOpen ? 'btn btn-sm btn-active' : 'btn btn-sm'} aria-pressed={versionsOpen} onClick={() => setVersionsOpen((o) => !o)}>
              Versions
            </button>
          </div>
        </div>
      </header>
      <ConnectionNotice connection={connection} />
      <div className={versionsOpen ? 'notebook-layout notebook-layout-versions' : 'notebook-layout'}>
        {session && loaded ? <Cells session={session} canEdit={canEdit} /> : <Loading label="Opening notebook…" />}
        {versionsOpen && session && (
          <VersionsPanel projectId={projectId} notebookId={notebookId} canEdit={canEdit} doc={session.doc} onClose={() => setVersionsOpen(false)} />
        )}
      </div>
    </div>
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

function Cells({ session, canEdit }: { session: NotebookSession; canEdit: boolean }) {
  const { doc, awareness } = session;
  const cells = useCells(doc);
  const peers = usePeers(awareness);
  const [focusCellId, setFocusCellId] = useState<string | null>(null);
  // Focus is handed to a new cell's editor once, when it mounts; later re-mounts (a move) must not steal it.
  useEffect(() => {
    if (focusCellId && cells.some((c) => c.id === focusCellId)) setFocusCellId(null);
  }, [cells, focusCellId]);
  const add = (kind: CellKind, index: number) => setFocusCellId(insertCell(doc, index, { kind }));

  return (
    <div className="cells">
      {cells.length === 0 && (
        <EmptyState title="This notebook has no cells yet.">
          {canEdit ? 'Add the first one below: SQL and TypeScript steps, declarative train, score and check cells, or Markdown notes.' : 'Editors of this team can add cells.'}
        </EmptyState>
      )}
      {cells.map((cell, i) => (
        <div key={cell.id} className="cell-slot">
          <NotebookCell cell={cell} index={i} count={cells.length} doc={doc} awareness={awareness} peers={peers} canEdit={canEdit} autoFocus={cell.id === focusCellId} />
          {canEdit && i < cells.length - 1 && <AddCellBar variant="between" after={i + 1} onAdd={(k) => add(k, i + 1)} />}
        </div>
      ))}
      {canEdit && <AddCellBar variant="end" onAdd={(k) => add(k, cells.length)} />}
    </div>
  );
}
