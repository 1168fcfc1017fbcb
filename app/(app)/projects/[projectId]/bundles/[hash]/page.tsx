import type { Metadata } from 'next';
import { BundlePage } from '@/app/_components/bundles/bundle-page';

export const metadata: Metadata = { title: 'Bundle' };

export default async function Page({ params }: { params: Promise<{ projectId: string; hash: string }> }) {
  const { projectId, hash } = await params;
  return <BundlePage projectId={projectId} hash={hash} />;
}
