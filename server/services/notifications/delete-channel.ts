import type { z } from 'zod';
import { eq } from 'drizzle-orm';
import { notificationChannels } from '@/db/schema';
import { emitAudit } from '../audit/emit';
import { auditMetaOf, type ServiceCtx } from '../context';
import { channelTarget, findChannel, findProject } from './channels';
import type { ChannelRef } from './schemas';

/**
 * Deletes a channel and its delivery history; pending deliveries to it then find nothing to send and
 * stop. A scenario naming it fails its notify step until the name exists again. Audited.
 */
export async function deleteChannel({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof ChannelRef> }) {
  const meta = auditMetaOf(ctx);
  return ctx.db.transaction(async (tx) => {
    const project = await findProject(tx, input.projectId);
    const row = await findChannel(tx, input);
    await tx.delete(notificationChannels).where(eq(notificationChannels.id, row.id));
    await emitAudit(tx, meta, {
      action: 'notification_channel.delete',
      target: { type: 'notificationChannel', id: row.id },
      teamId: project.teamId,
      projectId: input.projectId,
      details: { name: row.name, kind: row.kind, target: channelTarget(row) },
    });
    return { id: row.id, name: row.name };
  });
}
