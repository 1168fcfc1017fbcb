import type { z } from 'zod';
import { asc, desc, eq } from 'drizzle-orm';
import { notificationChannels, notificationDeliveries, type NotificationDeliveryStatus } from '@/db/schema';
import type { ServiceCtx } from '../context';
import type { ProjectRef } from '../projects/schemas';
import { channelTarget } from './channels';

export type ChannelView = {
  id: string;
  name: string;
  kind: 'webhook' | 'email';
  /** The URL or the recipients; a webhook URL is cut to its origin for those who may not change it. */
  target: string;
  createdBy: string;
  createdAt: Date;
  disabledAt: Date | null;
  lastDelivery: { status: NotificationDeliveryStatus; event: string; at: Date; error: string | null; statusCode: number | null } | null;
};

/**
 * Webhook URLs are often credentials themselves (a chat tool's incoming-webhook URL carries its
 * token in the path): people who cannot manage channels see only where they point.
 */
function redact(target: string): string {
  try {
    const u = new URL(target);
    return u.pathname === '/' && !u.search ? u.origin : `${u.origin}/…`;
  } catch {
    return '…';
  }
}

export async function listChannels({ ctx, input, showFullTargets }: { ctx: ServiceCtx; input: z.output<typeof ProjectRef>; showFullTargets: boolean }): Promise<ChannelView[]> {
  const rows = await ctx.db.select().from(notificationChannels).where(eq(notificationChannels.projectId, input.projectId)).orderBy(asc(notificationChannels.name));
  // One index-backed look-up per channel (channel_id, created_at): a project has a handful of channels
  // but may have many thousands of deliveries, which a DISTINCT ON over the project would sort.
  const latestOf = new Map(
    await Promise.all(
      rows.map(async (r) => {
        const [last] = await ctx.db
          .select({
            status: notificationDeliveries.status,
            event: notificationDeliveries.event,
            at: notificationDeliveries.createdAt,
            error: notificationDeliveries.lastError,
            statusCode: notificationDeliveries.lastStatusCode,
          })
          .from(notificationDeliveries)
          .where(eq(notificationDeliveries.channelId, r.id))
          .orderBy(desc(notificationDeliveries.createdAt))
          .limit(1);
        return [r.id, last ?? null] as const;
      }),
    ),
  );
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    kind: r.kind,
    target: r.kind === 'webhook' && !showFullTargets ? redact(channelTarget(r)) : channelTarget(r),
    createdBy: r.createdBy,
    createdAt: r.createdAt,
    disabledAt: r.disabledAt,
    lastDelivery: latestOf.get(r.id) ?? null,
  }));
}
