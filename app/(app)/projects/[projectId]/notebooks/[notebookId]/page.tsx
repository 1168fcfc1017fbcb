import type { Metadata } from 'next';
import { NotebookPage } from '@/app/_components/notebook/notebook-page';

export const metadata: Metadata = { title: 'Notebook' };

export default async function Page({ params }: { params: Promise<{ projectId: string; notebookId: string }> }) {
  const { projectId, notebookId } = await params;
  return <NotebookPage projectId={projectId} notebookId={notebookId} />;
}
