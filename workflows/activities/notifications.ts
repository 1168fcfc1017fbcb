import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Db } from '@/db/client';
import { attemptDelivery, DeliveryNotFound } from '@/server/services/notifications/deliver';
import { notificationSettings, type NotificationSettings } from '@/server/services/notifications/settings';
import type { NotificationActivities } from '../shared/notifications';
import { NOTIFICATION_MAX_ATTEMPTS, notificationFailureTypes } from '../shared/notifications';

export type NotificationActivityOptions = {
  /** Read per attempt, so a changed SMTP_URL applies without restarting a long retry; tests inject theirs. */
  settings?: () => NotificationSettings;
};

/**
 * Adapts Temporal's retries to `attemptDelivery`, which records every attempt on the delivery row.
 * Temporal owns the backoff; the row owns the outcome.
 */
export function createNotificationActivities(db: Db, options: NotificationActivityOptions = {}): NotificationActivities {
  const settings = options.settings ?? (() => notificationSettings());
  return {
    async deliverNotification({ deliveryId }) {
      const info = Context.current().info;
      const maxAttempts = info.retryPolicy?.maximumAttempts || NOTIFICATION_MAX_ATTEMPTS;
      let result;
      try {
        result = await attemptDelivery(db, deliveryId, { settings: settings(), final: info.attempt >= maxAttempts });
      } catch (err) {
        if (err instanceof DeliveryNotFound) throw ApplicationFailure.nonRetryable(err.message, notificationFailureTypes.notFound);
        throw err;
      }
      const { deliveryId: id, attempts, statusCode, error } = result;
      if (result.status === 'delivered') return { deliveryId: id, status: 'delivered', attempts, statusCode, error };
      if (result.status === 'failed') {
        throw ApplicationFailure.create({
          message: `notification ${id} failed (attempt ${attempts}): ${error ?? 'unknown error'}`,
          type: notificationFailureTypes.permanent,
          nonRetryable: true,
          details: [{ deliveryId: id, attempts, statusCode, error }],
        });
      }
      throw ApplicationFailure.create({
        message: `notification ${id}, attempt ${attempts}: ${error ?? 'unknown error'}`,
        type: 'NotificationAttemptFailed',
        nonRetryable: false,
        ...(result.retryAfterMs ? { nextRetryDelay: result.retryAfterMs } : {}),
      });
    },
  };
}
