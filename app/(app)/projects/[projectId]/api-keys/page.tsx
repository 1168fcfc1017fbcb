import type { Metadata } from 'next';
import { ApiKeysPage } from '@/app/_components/api-keys-page';

export const metadata: Metadata = { title: 'API keys' };

export default async function Page({ params }: { params: Promise<{ projectId: string }> }) {
  const { projectId } = await params;
  return <ApiKeysPage projectId={projectId} />;
}
