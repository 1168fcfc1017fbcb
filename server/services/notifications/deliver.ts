import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { notificationChannels, notificationDeliveries, type NotificationChannelConfig, type NotificationDeliveryStatus } from '@/db/schema';
import { assertNever } from '../errors';
import { snippet, type AttemptOutcome, type FailureCategory } from './attempt';
import { sendEmail } from './email';
import type { NotificationPayload } from './payload';
import type { NotificationSettings } from './settings';
import { postWebhook } from './webhook';

export type DeliveryAttemptResult = {
  deliveryId: string;
  status: NotificationDeliveryStatus;
  attempts: number;
  statusCode: number | null;
  error: string | null;
  /** What kind of failure this attempt met (null when delivered, or when returned as stored). */
  category: FailureCategory | null;
  /** This call's outcome was transient and the delivery stays pending: try again later. */
  retry: boolean;
  /** The receiver asked (Retry-After) to wait this long before the next attempt. */
  retryAfterMs?: number;
};

export class DeliveryNotFound extends Error {
  constructor(readonly deliveryId: string) {
    super(`notification delivery ${deliveryId} does not exist (its channel or project was deleted)`);
    this.name = 'DeliveryNotFound';
  }
}

type Channel = { kind: 'webhook' | 'email'; config: NotificationChannelConfig; signingSecret: string | null; disabledAt: Date | null };

async function send(channel: Channel, payload: NotificationPayload, settings: NotificationSettings): Promise<AttemptOutcome> {
  if (channel.disabledAt) return { kind: 'failed', statusCode: null, error: 'the channel is disabled', category: 'disabled' };
  switch (channel.kind) {
    case 'webhook': {
      if (!('url' in channel.config) || !channel.signingSecret) throw new Error('webhook channel without a URL or signing secret');
      return postWebhook(channel.config.url, channel.signingSecret, { deliveryId: payload.id, event: payload.event, payload }, settings);
    }
    case 'email': {
      if (!('to' in channel.config)) throw new Error('email channel without recipients');
      return sendEmail(channel.config.to, payload, settings);
    }
    default:
      return assertNever(channel.kind, 'channel kind');
  }
}

/**
 * One attempt at a pending delivery, recorded on its row. Safe to call again and again (Temporal
 * retries, a re-delivered activity): a delivery already delivered or failed is returned as stored
 * and not sent again. Two attempts racing (a timed-out one still running) can both send: webhook
 * receivers de-duplicate by `x-stagebook-delivery`; the row records one outcome.
 *
 * `final`: no attempt follows this one, so a transient failure is recorded as failed.
 */
export async function attemptDelivery(db: Db, deliveryId: string, opts: { settings: NotificationSettings; final: boolean }): Promise<DeliveryAttemptResult> {
  const [row] = await db
    .select({
      status: notificationDeliveries.status,
      attempts: notificationDeliveries.attempts,
      event: notificationDeliveries.event,
      payload: notificationDeliveries.payload,
      lastStatusCode: notificationDeliveries.lastStatusCode,
      lastError: notificationDeliveries.lastError,
      kind: notificationChannels.kind,
      config: notificationChannels.config,
      signingSecret: notificationChannels.signingSecret,
      disabledAt: notificationChannels.disabledAt,
    })
    .from(notificationDeliveries)
    .innerJoin(notificationChannels, eq(notificationChannels.id, notificationDeliveries.channelId))
    .where(eq(notificationDeliveries.id, deliveryId));
  if (!row) throw new DeliveryNotFound(deliveryId);
  const stored = (): DeliveryAttemptResult => ({ deliveryId, status: row.status, attempts: row.attempts, statusCode: row.lastStatusCode, error: row.lastError, category: null, retry: false });
  if (row.status !== 'pending') return stored();

  // Count the attempt before sending: a worker that dies mid-request still leaves it on the row.
  const [claimed] = await db
    .update(notificationDeliveries)
    .set({ attempts: sql`${notificationDeliveries.attempts} + 1` })
    .where(and(eq(notificationDeliveries.id, deliveryId), eq(notificationDeliveries.status, 'pending')))
    .returning({ attempts: notificationDeliveries.attempts });
  if (!claimed) {
    const [now] = await db.select().from(notificationDeliveries).where(eq(notificationDeliveries.id, deliveryId));
    if (!now) throw new DeliveryNotFound(deliveryId);
    return { deliveryId, status: now.status, attempts: now.attempts, statusCode: now.lastStatusCode, error: now.lastError, category: null, retry: false };
  }

  let outcome: AttemptOutcome;
  try {
    outcome = await send(row, row.payload as NotificationPayload, opts.settings);
  } catch (err) {
    outcome = { kind: 'retry', statusCode: null, error: err instanceof Error ? err.message : String(err), category: 'unreachable' };
  }
  const giveUp = outcome.kind === 'retry' && opts.final;
  const status: NotificationDeliveryStatus = outcome.kind === 'delivered' ? 'delivered' : outcome.kind === 'failed' || giveUp ? 'failed' : 'pending';
  const error = outcome.kind === 'delivered' ? null : snippet(giveUp && claimed.attempts > 1 ? `gave up after ${claimed.attempts} attempts: ${outcome.error}` : outcome.error, 500);
  const [recorded] = await db
    .update(notificationDeliveries)
    .set({ status, lastError: error, lastStatusCode: outcome.statusCode, ...(status === 'delivered' ? { deliveredAt: new Date() } : {}) })
    // A racing attempt that already finished the row wins: its outcome stays.
    .where(and(eq(notificationDeliveries.id, deliveryId), eq(notificationDeliveries.status, 'pending')))
    .returning({ attempts: notificationDeliveries.attempts });
  return {
    deliveryId,
    status,
    attempts: recorded?.attempts ?? claimed.attempts,
    statusCode: outcome.statusCode,
    error,
    category: outcome.kind === 'delivered' ? null : outcome.category,
    retry: status === 'pending',
    ...(outcome.kind === 'retry' && outcome.retryAfterMs ? { retryAfterMs: outcome.retryAfterMs } : {}),
  };
}
