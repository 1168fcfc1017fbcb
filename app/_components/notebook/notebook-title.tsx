'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useTRPC } from '../trpc';
import { ErrorMessage } from '../ui';

/** The notebook's name as the page title; editors click it to rename in place. */
export function NotebookTitle({ projectId, notebookId, name, canEdit }: { projectId: string; notebookId: string; name: string; canEdit: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [draft, setDraft] = useState<string | null>(null);
  const rename = useMutation(
    trpc.notebooks.rename.mutationOptions({
      onSuccess: async () => {
        setDraft(null);
        await Promise.all([
          queryClient.invalidateQueries({ queryKey: trpc.notebooks.get.queryKey({ projectId, notebookId }) }),
          queryClient.invalidateQueries({ queryKey: trpc.notebooks.list.queryKey({ projectId }) }),
        ]);
      },
    }),
  );
  if (draft === null) {
    return canEdit ? (
      <h1>
        <button type="button" className="title-button" title="Rename" onClick={() => setDraft(name)}>
          {name}
        </button>
      </h1>
    ) : (
      <h1>{name}</h1>
    );
  }
  const submit = (e?: FormEvent) => {
    e?.preventDefault();
    if (draft.trim() === name) setDraft(null);
    else rename.mutate({ projectId, notebookId, name: draft });
  };
  return (
    <form className="title-form" onSubmit={submit}>
      <input
        name="notebookName"
        aria-label="Notebook name"
        className="title-input"
        value={draft}
        maxLength={120}
        autoFocus
        onChange={(e) => setDraft(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Escape') {
            rename.reset();
            setDraft(null);
          }
        }}
      />
      <button type="submit" className="btn btn-primary btn-sm" disabled={rename.isPending}>
        {rename.isPending ? 'Saving…' : 'Rename'}
      </button>
      <button
        type="button"
        className="btn btn-ghost btn-sm"
        onClick={() => {
          rename.reset();
          setDraft(null);
        }}
      >
        Cancel
      </button>
      <ErrorMessage error={rename.error} />
    </form>
  );
}
