/**
 * A workflow for tests only (bundled by tests/integration/notifications-temporal.test.ts): the
 * notify step as a scenario workflow will run it, with the production retry policy made faster.
 */
import { proxyActivities } from '@temporalio/workflow';
import { deliverNotificationOptions, type DeliverNotificationResult, type NotificationActivities } from '../../workflows/shared/notifications';

export async function notifyTestWorkflow(input: { deliveryId: string; maximumAttempts?: number }): Promise<DeliverNotificationResult> {
  const { deliverNotification } = proxyActivities<NotificationActivities>({
    ...deliverNotificationOptions,
    retry: {
      ...deliverNotificationOptions.retry,
      initialInterval: '50 milliseconds',
      maximumInterval: '200 milliseconds',
      ...(input.maximumAttempts ? { maximumAttempts: input.maximumAttempts } : {}),
    },
  });
  return deliverNotification({ deliveryId: input.deliveryId });
}
