import type { Metadata } from 'next';
import { DatasetsListPage } from '@/app/_components/project-lists';

export const metadata: Metadata = { title: 'Datasets' };

export default async function Page({ params }: { params: Promise<{ projectId: string }> }) {
  const { projectId } = await params;
  return <DatasetsListPage projectId={projectId} />;
}
