import type { Metadata } from 'next';
import { PythonRequirementsPage } from '@/app/_components/python-requirements-page';

export const metadata: Metadata = { title: 'Python packages' };

export default async function Page({ params }: { params: Promise<{ projectId: string }> }) {
  const { projectId } = await params;
  return <PythonRequirementsPage projectId={projectId} />;
}
