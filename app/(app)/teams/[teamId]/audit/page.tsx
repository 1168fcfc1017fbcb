import type { Metadata } from 'next';
import { TeamAuditPage } from '@/app/_components/audit-pages';

export const metadata: Metadata = { title: 'Team audit log' };

export default async function Page({ params }: { params: Promise<{ teamId: string }> }) {
  const { teamId } = await params;
  return <TeamAuditPage teamId={teamId} />;
}
