import type { Metadata } from 'next';
import { EndpointsPage } from '@/app/_components/models/endpoints-page';

export const metadata: Metadata = { title: 'Endpoints' };

export default async function Page({ params, searchParams }: { params: Promise<{ projectId: string }>; searchParams: Promise<{ model?: string }> }) {
  const { projectId } = await params;
  const { model } = await searchParams;
  return <EndpointsPage projectId={projectId} {...(model ? { model } : {})} />;
}
