import type { Metadata } from 'next';
import { ProductionPage } from '@/app/_components/bundles/production-page';

export const metadata: Metadata = { title: 'Production' };

export default async function Page({ params }: { params: Promise<{ projectId: string }> }) {
  const { projectId } = await params;
  return <ProductionPage projectId={projectId} />;
}
