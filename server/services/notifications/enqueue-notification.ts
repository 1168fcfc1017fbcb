import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { notificationDeliveries, runs, type NotificationEvent } from '@/db/schema';
import type { ServiceCtx } from '../context';
import { invalid } from '../errors';
import { findChannel, findProject } from './channels';
import type { NotificationPayload } from './payload';
import { linkTo, notificationSettings, type NotificationSettings } from './settings';

export type EnqueueNotificationArgs = {
  ctx: ServiceCtx;
  projectId: string;
  /** The channel's name, as a scenario's notify step writes it. */
  channel: string;
  event: NotificationEvent;
  /** `message` (the notify step's, optional) becomes the payload's message; the rest its `data`. */
  payload: { message?: string | null } & Record<string, unknown>;
  runId?: string | null;
  /**
   * Makes the call idempotent: a workflow passes an id it chose deterministically (`uuid4()` in
   * workflow code), so a retried activity finds the row it already wrote instead of adding another.
   */
  deliveryId?: string;
  settings?: NotificationSettings;
};

/** The page of a run: builds have theirs; other runs (scenarios) are addressed by id under the project. */
async function runPath(db: DbOrTx, projectId: string, runId: string): Promise<string> {
  const [run] = await db.select({ kind: runs.kind }).from(runs).where(and(eq(runs.id, runId), eq(runs.projectId, projectId)));
  if (!run) throw invalid(`run ${runId} does not exist in this project`, 'runId');
  return run.kind === 'build' ? `/projects/${projectId}/builds/${runId}` : `/projects/${projectId}/runs/${runId}`;
}

/**
 * Records a notification as a pending delivery and returns its id; nothing is sent here. The caller
 * (a scenario workflow) then runs the `deliverNotification` activity with that id, which retries
 * with backoff and records each attempt.
 */
export async function enqueueNotification(args: EnqueueNotificationArgs): Promise<{ deliveryId: string; created: boolean }> {
  const { ctx, ...rest } = args;
  return ctx.db.transaction((tx) => insertDelivery(tx, rest));
}

/** The pending row, inside the caller's transaction. */
export async function insertDelivery(tx: DbOrTx, args: Omit<EnqueueNotificationArgs, 'ctx'>): Promise<{ deliveryId: string; created: boolean; channelId: string; teamId: string }> {
  const { projectId, event } = args;
  const settings = args.settings ?? notificationSettings();
  const project = await findProject(tx, projectId);
  const channel = await findChannel(tx, { projectId, name: args.channel });
  const id = args.deliveryId ?? randomUUID();
  const runId = args.runId ?? null;
  const { message, ...data } = args.payload;
  const payload: NotificationPayload = {
    id,
    event,
    createdAt: new Date().toISOString(),
    project: { id: project.id, name: project.name },
    channel: channel.name,
    runId,
    runUrl: runId ? linkTo(settings, await runPath(tx, projectId, runId)) : null,
    message: typeof message === 'string' && message.trim() ? message : null,
    data,
  };
  const inserted = await tx
    .insert(notificationDeliveries)
    .values({ id, channelId: channel.id, projectId, event, payload, runId })
    .onConflictDoNothing({ target: notificationDeliveries.id })
    .returning({ id: notificationDeliveries.id });
  if (inserted.length === 0) {
    const [existing] = await tx.select({ channelId: notificationDeliveries.channelId }).from(notificationDeliveries).where(eq(notificationDeliveries.id, id));
    if (existing?.channelId !== channel.id) throw invalid(`delivery ${id} already exists for another channel`, 'deliveryId');
  }
  return { deliveryId: id, created: inserted.length > 0, channelId: channel.id, teamId: project.teamId };
}
