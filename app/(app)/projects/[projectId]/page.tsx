import type { Metadata } from 'next';
import { ProjectHome } from '@/app/_components/project-home';

export const metadata: Metadata = { title: 'Project' };

export default async function Page({ params }: { params: Promise<{ projectId: string }> }) {
  const { projectId } = await params;
  return <ProjectHome projectId={projectId} />;
}
