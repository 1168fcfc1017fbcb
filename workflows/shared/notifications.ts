/**
 * The notification activity's contract, for the scenario workflow's `notify` step:
 *
 *   const { deliveryId } = await enqueueNotification(...)   // an activity of the scenario's: the pending row
 *   await deliverNotification({ deliveryId })               // proxied with `deliverNotificationOptions`
 *
 * Imported by sandboxed workflow code: types and constants only.
 */
import type { ActivityOptions } from '@temporalio/common';

export type DeliverNotificationInput = { deliveryId: string };

export type DeliverNotificationResult = {
  deliveryId: string;
  status: 'delivered' | 'failed';
  attempts: number;
  statusCode: number | null;
  error: string | null;
};

export const notificationFailureTypes = {
  /** The receiver answered a 4xx other than 408/429, refused the recipient, or the channel is disabled. */
  permanent: 'NotificationPermanentFailure',
  /** The delivery row (or its channel) is gone. */
  notFound: 'NotificationDeliveryNotFound',
} as const;

/** Attempts per delivery; the activity reads it from its retry policy to record the last one as failed. */
export const NOTIFICATION_MAX_ATTEMPTS = 8;

/**
 * Backoff 2 s, 4 s, 8 s ... capped at 5 min: eight attempts span about ten minutes, enough to ride
 * out a receiver's deploy or a short outage. One attempt is bounded by the 10 s HTTP timeout (SMTP:
 * a few of them), so 1 minute start-to-close only catches a stuck worker.
 */
export const deliverNotificationOptions: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '5 minutes',
    maximumAttempts: NOTIFICATION_MAX_ATTEMPTS,
    nonRetryableErrorTypes: [notificationFailureTypes.permanent, notificationFailureTypes.notFound],
  },
};

export type NotificationActivities = {
  /**
   * One attempt at a pending delivery, recorded on its row. Delivered: returns. Transient failure
   * (network, timeout, 5xx, 408, 429): throws a retryable failure (honouring Retry-After), and on
   * the policy's last attempt records the delivery failed. Permanent failure: records it failed and
   * throws a non-retryable `NotificationPermanentFailure`. Already finished: returns what is stored.
   */
  deliverNotification(input: DeliverNotificationInput): Promise<DeliverNotificationResult>;
};
