import type { Metadata } from 'next';
import { ModelPage } from '@/app/_components/models/model-page';

export const metadata: Metadata = { title: 'Model' };

export default async function Page({ params, searchParams }: { params: Promise<{ projectId: string; name: string }>; searchParams: Promise<{ version?: string }> }) {
  const { projectId, name } = await params;
  const { version } = await searchParams;
  const v = Number(version);
  return <ModelPage projectId={projectId} name={decodeURIComponent(name)} version={Number.isInteger(v) && v > 0 ? v : null} />;
}
