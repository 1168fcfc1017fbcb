'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import type * as Y from 'yjs';
import { ConfirmButton } from '../confirm-button';
import { formatDateTime } from '../format';
import { useTRPC } from '../trpc';
import { EmptyState, ErrorMessage, Loading } from '../ui';
import { VersionDiff } from './version-diff';

type Side = 'live' | string;
const LIVE_REFRESH_MS = 800;

/** Save, list, compare and restore named versions of the notebook. */
export function VersionsPanel({ projectId, notebookId, canEdit, doc, onClose }: {
  projectId: string;
  notebookId: string;
  canEdit: boolean;
  doc: Y.Doc;
  onClose: () => void;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const ref = { projectId, notebookId };
  const versions = useQuery(trpc.notebooks.listVersions.queryOptions({ ...ref, limit: 100 }));
  const [compare, setCompare] = useState<{ from: Side; to: Side } | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const invalidateDiffs = () => queryClient.invalidateQueries({ queryKey: trpc.notebooks.diffVersions.queryKey() });
  const restore = useMutation(
    trpc.notebooks.restoreVersion.mutationOptions({
      onSuccess: (r) => setNotice(r.changed ? 'Version restored as a new edit; everyone sees it now.' : 'The notebook already matched that version.'),
      onSettled: invalidateDiffs,
    }),
  );

  // A diff against the live notebook goes stale as anyone types: refetch shortly after edits.
  const live = compare !== null && (compare.from === 'live' || compare.to === 'live');
  useEffect(() => {
    if (!live) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onUpdate = () => {
      clearTimeout(timer);
      timer = setTimeout(() => void queryClient.invalidateQueries({ queryKey: trpc.notebooks.diffVersions.queryKey() }), LIVE_REFRESH_MS);
    };
    doc.on('update', onUpdate);
    return () => {
      clearTimeout(timer);
      doc.off('update', onUpdate);
    };
  }, [live, doc, queryClient, trpc]);

  const list = versions.data ?? [];
  const label = (side: Side) => (side === 'live' ? 'live notebook' : `“${list.find((v) => v.id === side)?.message ?? 'version'}”`);

  return (
    <aside className="versions card" aria-label="Versions">
      <div className="card-head">
        <div>
          <h2>Versions</h2>
          <p className="card-description">Named snapshots to compare and restore; promotion builds on them.</p>
        </div>
        <button type="button" className="btn btn-ghost btn-icon" aria-label="Close versions" onClick={onClose}>
          ×
        </button>
      </div>
      {canEdit && <SaveVersionForm projectId={projectId} notebookId={notebookId} onSaved={(m) => setNotice(`Saved version “${m}”.`)} />}
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      <ErrorMessage error={restore.error} />
      {versions.isPending ? (
        <Loading />
      ) : versions.isError ? (
        <ErrorMessage error={versions.error} />
      ) : list.length === 0 ? (
        <EmptyState title="No versions yet.">{canEdit ? 'Save one to mark a state you can come back to.' : 'Editors can save versions.'}</EmptyState>
      ) : (
        <ul className="version-list">
          {list.map((v) => (
            <li key={v.id} className={`version${compare?.from === v.id || compare?.to === v.id ? ' version-selected' : ''}`}>
              <div className="version-text">
                <span className="version-message">{v.message}</span>
                <span className="version-meta">
                  {v.createdBy?.name ?? 'someone'} · {formatDateTime(v.createdAt)}
                </span>
              </div>
              <div className="version-actions">
                <button type="button" className="btn btn-sm" onClick={() => setCompare({ from: v.id, to: 'live' })} aria-label={`Compare “${v.message}” with live`}>
                  Compare
                </button>
                {canEdit && (
                  <ConfirmButton
                    label="Restore"
                    confirmLabel="Restore"
                    question="Restore as a new edit?"
                    pending={restore.isPending && restore.variables.versionId === v.id}
                    onConfirm={() => {
                      setNotice(null);
                      restore.mutate({ ...ref, versionId: v.id });
                    }}
                  />
                )}
              </div>
            </li>
          ))}
        </ul>
      )}
      {compare && list.length > 0 && (
        <section className="compare" aria-label="Compare versions">
          <div className="compare-sides">
            <SideSelect label="From" value={compare.from} versions={list} onChange={(from) => setCompare({ ...compare, from })} />
            <SideSelect label="To" value={compare.to} versions={list} onChange={(to) => setCompare({ ...compare, to })} />
          </div>
          <p className="muted compare-caption">
            Changes from the {label(compare.from)} to the {label(compare.to)}.
          </p>
          <DiffResult projectId={projectId} notebookId={notebookId} from={compare.from} to={compare.to} />
        </section>
      )}
    </aside>
  );
}

function SideSelect({ label, value, versions, onChange }: { label: string; value: Side; versions: { id: string; message: string; createdAt: Date | string }[]; onChange: (v: Side) => void }) {
  return (
    <label className="compare-side">
      <span>{label}</span>
      <select className="select-sm" name={`compare${label}`} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="live">Live notebook</option>
        {versions.map((v) => (
          <option key={v.id} value={v.id}>
            {v.message} · {formatDateTime(v.createdAt)}
          </option>
        ))}
      </select>
    </label>
  );
}

function DiffResult({ projectId, notebookId, from, to }: { projectId: string; notebookId: string; from: Side; to: Side }) {
  const trpc = useTRPC();
  const diff = useQuery(trpc.notebooks.diffVersions.queryOptions({ projectId, notebookId, from, to }, { placeholderData: (prev) => prev }));
  if (diff.isPending) return <Loading label="Comparing…" />;
  if (diff.isError) return <ErrorMessage error={diff.error} />;
  return <VersionDiff diff={diff.data} />;
}

function SaveVersionForm({ projectId, notebookId, onSaved }: { projectId: string; notebookId: string; onSaved: (message: string) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [message, setMessage] = useState('');
  const save = useMutation(
    trpc.notebooks.saveVersion.mutationOptions({
      onSuccess: async (v) => {
        setMessage('');
        onSaved(v.message);
        await queryClient.invalidateQueries({ queryKey: trpc.notebooks.listVersions.queryKey() });
      },
    }),
  );
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate({ projectId, notebookId, message });
  };
  return (
    <div className="version-form">
      <form className="inline-form" onSubmit={onSubmit}>
        <label className="field field-grow">
          <span>Message</span>
          <input name="versionMessage" value={message} onChange={(e) => setMessage(e.target.value)} placeholder="e.g. Baseline features" maxLength={500} />
        </label>
        <button type="submit" className="btn btn-primary" disabled={save.isPending}>
          {save.isPending ? 'Saving…' : 'Save version'}
        </button>
      </form>
      <ErrorMessage error={save.error} />
    </div>
  );
}
