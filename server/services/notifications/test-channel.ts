import type { z } from 'zod';
import { emitAudit } from '../audit/emit';
import { actorLabel, auditMetaOf, type ServiceCtx } from '../context';
import { failureCategories, type FailureCategory } from './attempt';
import { attemptDelivery } from './deliver';
import { insertDelivery } from './enqueue-notification';
import type { ChannelRef } from './schemas';
import { notificationSettings, type NotificationSettings } from './settings';

export type TestChannelResult = {
  deliveryId: string;
  status: 'delivered' | 'failed';
  attempts: number;
  statusCode: number | null;
  category: FailureCategory | null;
  /** Stagebook's sentence for the category: never the receiver's error text or body. */
  error: string | null;
};

/**
 * "Send test": one attempt, now, in the request (no Temporal, no retries), so a person sees at once
 * whether the URL or the mail server answers. Recorded as a delivery with event `test`; audited. The
 * answer is a category, not what the peer said: see failureCategories.
 */
export async function testChannel({ ctx, input, settings }: { ctx: ServiceCtx; input: z.output<typeof ChannelRef>; settings?: NotificationSettings }): Promise<TestChannelResult> {
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
  const r = await attemptDelivery(ctx.db, deliveryId, { settings: s, final: true });
  const delivered = r.status === 'delivered';
  const category = delivered ? null : (r.category ?? 'unreachable');
  return { deliveryId, status: delivered ? 'delivered' : 'failed', attempts: r.attempts, statusCode: r.statusCode, category, error: category && failureCategories[category] };
}
