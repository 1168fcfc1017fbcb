import type { Metadata } from 'next';
import { RunPage } from '@/app/_components/builds/run-page';

export const metadata: Metadata = { title: 'Build' };

export default async function Page({ params }: { params: Promise<{ projectId: string; runId: string }> }) {
  const { projectId, runId } = await params;
  return <RunPage projectId={projectId} runId={runId} />;
}
