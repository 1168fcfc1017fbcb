'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState, type FormEvent } from 'react';
import { ConfirmButton } from './confirm-button';
import { formatDateTime } from './format';
import { useTRPC } from './trpc';
import type { RouterOutputs } from './types';
import { Card, EmptyState, ErrorMessage, FieldError, fieldError, Loading } from './ui';

type Notebook = RouterOutputs['notebooks']['list'][number];

export const notebookHref = (projectId: string, notebookId: string) => `/projects/${projectId}/notebooks/${notebookId}`;

/** The project's notebooks: open, and for editors create, rename, duplicate and delete. */
export function NotebooksSection({ projectId, canEdit }: { projectId: string; canEdit: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const notebooks = useQuery(trpc.notebooks.list.queryOptions({ projectId }));
  const invalidate = () => queryClient.invalidateQueries({ queryKey: trpc.notebooks.list.queryKey({ projectId }) });
  const duplicate = useMutation(trpc.notebooks.duplicate.mutationOptions({ onSettled: invalidate }));
  const remove = useMutation(trpc.notebooks.delete.mutationOptions({ onSettled: invalidate }));
  const [renaming, setRenaming] = useState<string | null>(null);

  return (
    <Card title="Notebooks" description="Co-edited live; their cells compile into this project’s pipeline." id="section-notebooks">
      {canEdit && <CreateNotebookForm projectId={projectId} />}
      <ErrorMessage error={duplicate.error ?? remove.error} />
      {notebooks.isPending ? (
        <Loading />
      ) : notebooks.isError ? (
        <ErrorMessage error={notebooks.error} />
      ) : notebooks.data.length === 0 ? (
        <EmptyState title="No notebooks yet.">
          {canEdit
            ? 'Create one to start: notebooks hold the SQL, TypeScript, training and check cells that compile into this project’s pipeline.'
            : 'Notebooks hold the SQL, TypeScript, training and check cells that compile into this project’s pipeline. Editors can create them.'}
        </EmptyState>
      ) : (
        <div className="table-scroll">
          <table className="table notebooks-table">
            <thead>
              <tr>
                <th>Notebook</th>
                <th>Created by</th>
                <th>Last edited</th>
                {canEdit && <th className="align-right">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {notebooks.data.map((n) => (
                <tr key={n.id}>
                  <td>
                    {renaming === n.id ? (
                      <RenameNotebookForm projectId={projectId} notebook={n} onDone={() => setRenaming(null)} />
                    ) : (
                      <Link href={notebookHref(projectId, n.id)} className="strong-link">
                        {n.name}
                      </Link>
                    )}
                  </td>
                  <td className="muted">{n.createdBy?.name ?? '—'}</td>
                  <td className="muted nowrap">{formatDateTime(n.updatedAt)}</td>
                  {canEdit && (
                    <td className="align-right nowrap">
                      <span className="row-actions">
                        <button type="button" className="btn btn-sm btn-ghost" aria-label={`Rename ${n.name}`} onClick={() => setRenaming(n.id)} disabled={renaming === n.id}>
                          Rename
                        </button>
                        <button
                          type="button"
                          className="btn btn-sm btn-ghost"
                          aria-label={`Duplicate ${n.name}`}
                          disabled={duplicate.isPending}
                          onClick={() => {
                            remove.reset();
                            duplicate.mutate({ projectId, notebookId: n.id });
                          }}
                        >
                          {duplicate.isPending && duplicate.variables.notebookId === n.id ? 'Duplicating…' : 'Duplicate'}
                        </button>
                        <ConfirmButton
                          label="Delete"
                          confirmLabel="Delete"
                          question={`Delete “${n.name}”?`}
                          pending={remove.isPending && remove.variables.notebookId === n.id}
                          onConfirm={() => {
                            duplicate.reset();
                            remove.mutate({ projectId, notebookId: n.id });
                          }}
                        />
                      </span>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}

function CreateNotebookForm({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  const create = useMutation(
    trpc.notebooks.create.mutationOptions({
      onSuccess: async (notebook) => {
        await queryClient.invalidateQueries({ queryKey: trpc.notebooks.list.queryKey({ projectId }) });
        router.push(notebookHref(projectId, notebook.id));
      },
    }),
  );
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate({ projectId, name });
  };
  return (
    <>
      <form className="inline-form" onSubmit={onSubmit}>
        <label className="field field-grow">
          <span>Name</span>
          <input name="notebookName" value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. Churn features" maxLength={120} aria-invalid={Boolean(fieldError(create.error, 'name'))} />
          <FieldError error={create.error} field="name" />
        </label>
        <button type="submit" className="btn btn-primary" disabled={create.isPending}>
          {create.isPending ? 'Creating…' : 'New notebook'}
        </button>
      </form>
      <ErrorMessage error={create.error} fields={['name']} />
    </>
  );
}

function RenameNotebookForm({ projectId, notebook, onDone }: { projectId: string; notebook: Notebook; onDone: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [name, setName] = useState(notebook.name);
  const rename = useMutation(
    trpc.notebooks.rename.mutationOptions({
      onSuccess: async () => {
        await Promise.all([
          queryClient.invalidateQueries({ queryKey: trpc.notebooks.list.queryKey({ projectId }) }),
          queryClient.invalidateQueries({ queryKey: trpc.notebooks.get.queryKey({ projectId, notebookId: notebook.id }) }),
        ]);
        onDone();
      },
    }),
  );
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    if (name.trim() === notebook.name) onDone();
    else rename.mutate({ projectId, notebookId: notebook.id, name });
  };
  return (
    <form className="rename-form" onSubmit={onSubmit}>
      <input
        name="renameNotebook"
        aria-label={`New name for ${notebook.name}`}
        value={name}
        maxLength={120}
        autoFocus
        onChange={(e) => setName(e.target.value)}
        onKeyDown={(e) => e.key === 'Escape' && onDone()}
      />
      <button type="submit" className="btn btn-sm btn-primary" disabled={rename.isPending}>
        Save
      </button>
      <button type="button" className="btn btn-sm btn-ghost" onClick={onDone}>
        Cancel
      </button>
      {rename.error && <span className="row-error">{rename.error.message}</span>}
    </form>
  );
}
