import type { Metadata } from 'next';
import { BuildsListPage } from '@/app/_components/project-lists';

export const metadata: Metadata = { title: 'Builds' };

export default async function Page({ params }: { params: Promise<{ projectId: string }> }) {
  const { projectId } = await params;
  return <BuildsListPage projectId={projectId} />;
}
