'use client';

import { useQuery } from '@tanstack/react-query';
import dynamic from 'next/dynamic';
import { NotAvailable } from '../team-header';
import { useTRPC } from '../trpc';
import type { TeamRole } from '../types';
import { Loading } from '../ui';

// Monaco and y-websocket need `window`: the live part is never rendered on the server.
const NotebookWorkspace = dynamic(() => import('./notebook-workspace'), { ssr: false, loading: () => <Loading label="Loading the editor…" /> });

export function NotebookPage({ projectId, notebookId }: { projectId: string; notebookId: string }) {
  const trpc = useTRPC();
  const notebook = useQuery(trpc.notebooks.get.queryOptions({ projectId, notebookId }, { refetchOnWindowFocus: false }));
  const project = useQuery(trpc.projects.get.queryOptions({ projectId }));
  const me = useQuery(trpc.auth.me.queryOptions(undefined, { staleTime: 60_000 }));
  if (notebook.isError) return <NotAvailable error={notebook.error} />;
  if (project.isError) return <NotAvailable error={project.error} />;
  if (notebook.isPending || project.isPending || !me.data) return <Loading />;
  return (
    <NotebookWorkspace
      projectId={projectId}
      notebookId={notebookId}
      name={notebook.data.name}
      project={project.data}
      role={(notebook.data.role ?? null) as TeamRole | null}
      me={me.data}
    />
  );
}
