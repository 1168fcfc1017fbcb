import type { z } from 'zod';
import { and, desc, eq, sql, type SQL } from 'drizzle-orm';
import { notificationChannels, notificationDeliveries } from '@/db/schema';
import type { ServiceCtx } from '../context';
import { findChannel } from './channels';
import type { ListDeliveriesInput } from './schemas';

export const DELIVERIES_LIMIT = 50;

/** The newest deliveries of a project, or of one of its channels. */
export async function listDeliveries({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof ListDeliveriesInput> }) {
  const where: SQL[] = [eq(notificationDeliveries.projectId, input.projectId)];
  if (input.channel) where.push(eq(notificationDeliveries.channelId, (await findChannel(ctx.db, { projectId: input.projectId, name: input.channel })).id));
  return ctx.db
    .select({
      id: notificationDeliveries.id,
      channel: notificationChannels.name,
      kind: notificationChannels.kind,
      event: notificationDeliveries.event,
      status: notificationDeliveries.status,
      attempts: notificationDeliveries.attempts,
      lastError: notificationDeliveries.lastError,
      lastStatusCode: notificationDeliveries.lastStatusCode,
      runId: notificationDeliveries.runId,
      /** As sent: absolute under STAGEBOOK_PUBLIC_URL, else a path. */
      runUrl: sql<string | null>`${notificationDeliveries.payload}->>'runUrl'`,
      createdAt: notificationDeliveries.createdAt,
      deliveredAt: notificationDeliveries.deliveredAt,
    })
    .from(notificationDeliveries)
    .innerJoin(notificationChannels, eq(notificationChannels.id, notificationDeliveries.channelId))
    .where(and(...where))
    .orderBy(desc(notificationDeliveries.createdAt), desc(notificationDeliveries.id))
    .limit(DELIVERIES_LIMIT);
}
