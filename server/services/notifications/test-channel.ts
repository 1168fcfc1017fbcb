import type { z } from 'zod';
import { emitAudit } from '../audit/emit';
import { actorLabel, auditMetaOf, type ServiceCtx } from '../context';
import { attemptDelivery, type DeliveryAttemptResult } from './deliver';
import { insertDelivery } from './enqueue-notification';
import type { ChannelRef } from './schemas';
import { notificationSettings, type NotificationSettings } from './settings';

/**
 * "Send test": one attempt, now, in the request (no Temporal, no retries), so a person sees at once
 * whether the URL or the mail server answers. Recorded as a delivery with event `test`; audited.
 */
export async function testChannel({ ctx, input, settings }: { ctx: ServiceCtx; input: z.output<typeof ChannelRef>; settings?: NotificationSettings }): Promise<DeliveryAttemptResult> {
  const meta = auditMetaOf(ctx);
  const s = settings ?? notificationSettings();
  const who = actorLabel(meta.actor).actorLabel;
  const deliveryId = await ctx.db.transaction(async (tx) => {
    const queued = await insertDelivery(tx, {
      projectId: input.projectId,
      channel: input.name,
      event: 'test',
      payload: { message: `Test notification from Stagebook, sent by ${who} to check the channel "${input.name}".`, sentBy: who },
      settings: s,
    });
    await emitAudit(tx, meta, {
      action: 'notification_channel.test',
      target: { type: 'notificationChannel', id: queued.channelId },
      teamId: queued.teamId,
      projectId: input.projectId,
      details: { name: input.name, deliveryId: queued.deliveryId },
    });
    return queued.deliveryId;
  });
  return attemptDelivery(ctx.db, deliveryId, { settings: s, final: true });
}
