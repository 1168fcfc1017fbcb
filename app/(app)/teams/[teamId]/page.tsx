import type { Metadata } from 'next';
import { TeamHome } from '@/app/_components/team-home';

export const metadata: Metadata = { title: 'Team' };

export default async function Page({ params }: { params: Promise<{ teamId: string }> }) {
  const { teamId } = await params;
  return <TeamHome teamId={teamId} />;
}
