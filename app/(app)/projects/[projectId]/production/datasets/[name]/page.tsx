import type { Metadata } from 'next';
import { DatasetPage } from '@/app/_components/datasets/dataset-page';

export const metadata: Metadata = { title: 'Production dataset' };

export default async function Page({ params }: { params: Promise<{ projectId: string; name: string }> }) {
  const { projectId, name } = await params;
  return <DatasetPage projectId={projectId} name={decodeURIComponent(name)} environment="production" />;
}
