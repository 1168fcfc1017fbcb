import type { Metadata } from 'next';
import { ModelsListPage } from '@/app/_components/project-lists';

export const metadata: Metadata = { title: 'Models' };

export default async function Page({ params }: { params: Promise<{ projectId: string }> }) {
  const { projectId } = await params;
  return <ModelsListPage projectId={projectId} />;
}
