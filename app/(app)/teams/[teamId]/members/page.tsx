import type { Metadata } from 'next';
import { MembersPage } from '@/app/_components/members-page';

export const metadata: Metadata = { title: 'Members' };

export default async function Page({ params }: { params: Promise<{ teamId: string }> }) {
  const { teamId } = await params;
  return <MembersPage teamId={teamId} />;
}
