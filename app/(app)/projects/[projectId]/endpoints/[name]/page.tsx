import type { Metadata } from 'next';
import { EndpointPage } from '@/app/_components/models/endpoint-page';

export const metadata: Metadata = { title: 'Endpoint' };

export default async function Page({ params }: { params: Promise<{ projectId: string; name: string }> }) {
  const { projectId, name } = await params;
  return <EndpointPage projectId={projectId} name={decodeURIComponent(name)} />;
}
