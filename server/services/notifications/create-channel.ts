import { emitAudit } from '../audit/emit';
import { actorLabel, auditMetaOf, type ServiceCtx } from '../context';
import { conflict, preconditionFailed } from '../errors';
import { notificationChannels } from '@/db/schema';
import { channelTarget, findChannel, findProject, isUniqueViolation } from './channels';
import type { CreateChannelInput } from './schemas';
import { notificationSettings, type NotificationSettings } from './settings';
import { newSigningSecret } from './signature';

const taken = (name: string) => conflict(`a notification channel named "${name}" already exists in this project`, 'name');

export type CreatedChannel = {
  id: string;
  name: string;
  kind: 'webhook' | 'email';
  target: string;
  createdAt: Date;
  /** Webhooks only, and only here: receivers verify `x-stagebook-signature` with it. */
  signingSecret: string | null;
};

/** Creates a channel; a webhook's signing secret is returned once. Audited as `notification_channel.create`. */
export async function createChannel({ ctx, input, settings }: { ctx: ServiceCtx; input: CreateChannelInput; settings?: NotificationSettings }): Promise<CreatedChannel> {
  const meta = auditMetaOf(ctx);
  if (input.kind === 'email' && !(settings ?? notificationSettings()).smtpUrl) {
    throw preconditionFailed('email channels need an SMTP server: set SMTP_URL (smtp:// or smtps://) and SMTP_FROM on the Stagebook server, then restart it');
  }
  const signingSecret = input.kind === 'webhook' ? newSigningSecret() : null;
  const config = input.kind === 'webhook' ? { url: input.url } : { to: [...new Set(input.to.map((t) => t.toLowerCase()))] };
  try {
    return await ctx.db.transaction(async (tx) => {
      const project = await findProject(tx, input.projectId);
      const existing = await findChannel(tx, input).catch(() => null);
      if (existing) throw taken(input.name);
      const [row] = await tx
        .insert(notificationChannels)
        .values({ projectId: input.projectId, name: input.name, kind: input.kind, config, signingSecret, createdBy: actorLabel(meta.actor).actorLabel })
        .returning();
      if (!row) throw new Error('notification channel insert returned no row');
      // The secret is not audited: the audit log is readable by every member.
      await emitAudit(tx, meta, {
        action: 'notification_channel.create',
        target: { type: 'notificationChannel', id: row.id },
        teamId: project.teamId,
        projectId: input.projectId,
        details: { name: row.name, kind: row.kind, target: channelTarget(row) },
      });
      return { id: row.id, name: row.name, kind: row.kind, target: channelTarget(row), createdAt: row.createdAt, signingSecret };
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw taken(input.name);
    throw err;
  }
}
