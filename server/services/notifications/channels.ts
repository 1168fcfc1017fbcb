import { and, eq } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { notificationChannels, projects } from '@/db/schema';
import { notFound } from '../errors';

export type ChannelRow = typeof notificationChannels.$inferSelect;

export async function findChannel(db: DbOrTx, ref: { projectId: string; name: string }): Promise<ChannelRow> {
  const [row] = await db
    .select()
    .from(notificationChannels)
    .where(and(eq(notificationChannels.projectId, ref.projectId), eq(notificationChannels.name, ref.name)));
  if (!row) throw notFound(`notification channel "${ref.name}"`);
  return row;
}

export async function findProject(db: DbOrTx, projectId: string): Promise<{ id: string; name: string; teamId: string }> {
  const [row] = await db.select({ id: projects.id, name: projects.name, teamId: projects.teamId }).from(projects).where(eq(projects.id, projectId));
  if (!row) throw notFound('project');
  return row;
}

/** What a person reads as the channel's destination: the URL, or the recipients. */
export function channelTarget(row: Pick<ChannelRow, 'config'>): string {
  return 'url' in row.config ? row.config.url : row.config.to.join(', ');
}

export function isUniqueViolation(err: unknown): boolean {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) if ((e as { code?: unknown }).code === '23505') return true;
  return false;
}
