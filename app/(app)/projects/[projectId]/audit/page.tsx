import type { Metadata } from 'next';
import { ProjectAuditPage } from '@/app/_components/audit-pages';

export const metadata: Metadata = { title: 'Project audit log' };

export default async function Page({ params }: { params: Promise<{ projectId: string }> }) {
  const { projectId } = await params;
  return <ProjectAuditPage projectId={projectId} />;
}
