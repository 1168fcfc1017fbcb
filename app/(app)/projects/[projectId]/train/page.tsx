import type { Metadata } from 'next';
import { TrainPage } from '@/app/_components/models/train-page';

export const metadata: Metadata = { title: 'New model' };

export default async function Page({ params, searchParams }: { params: Promise<{ projectId: string }>; searchParams: Promise<{ model?: string }> }) {
  const { projectId } = await params;
  const { model } = await searchParams;
  return <TrainPage projectId={projectId} {...(model ? { model } : {})} />;
}
