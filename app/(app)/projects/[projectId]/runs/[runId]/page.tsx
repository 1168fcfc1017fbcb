import type { Metadata } from 'next';
import { ScenarioRunPage } from '@/app/_components/scenarios/scenario-run-page';

export const metadata: Metadata = { title: 'Scenario run' };

export default async function Page({ params }: { params: Promise<{ projectId: string; runId: string }> }) {
  const { projectId, runId } = await params;
  return <ScenarioRunPage projectId={projectId} runId={runId} />;
}
