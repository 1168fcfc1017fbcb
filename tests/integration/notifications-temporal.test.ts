/**
 * The deliverNotification activity on a real Temporal dev server: Temporal's retries drive the
 * attempts, the activity records each one on the delivery row and stops retrying permanent failures.
 */
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActivityFailure, ApplicationFailure, WorkflowFailedError, type Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { notificationDeliveries, notificationChannels, projects, teams } from '@/db/schema';
import type { UserId } from '@/server/services/context';
import { enqueueNotification } from '@/server/services/notifications/enqueue-notification';
import { notificationSettings } from '@/server/services/notifications/settings';
import { connectTemporal } from '@/workflows/client';
import { createActivities } from '@/workflows/activities';
import { notificationFailureTypes, type DeliverNotificationResult } from '@/workflows/shared/notifications';
import { ctxFor } from '../helpers/api';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/notifications';
import { quietTemporalRuntime, uniqueTaskQueue, useTestTemporal, type TestTemporal } from '../helpers/temporal';

const workflowsPath = fileURLToPath(new URL('../helpers/notify-test-workflow.ts', import.meta.url));
const actor = { type: 'user' as const, userId: randomUUID() as UserId, email: 'ada@example.com', name: 'Ada' };

describe('deliverNotification on Temporal', () => {
  let temporal: TestTemporal;
  let client: Client;
  let connection: NativeConnection;
  let worker: Worker;
  let running: Promise<void>;
  let t: TestDatabase;
  let hook: WebhookReceiver;
  let projectId: string;
  const taskQueue = uniqueTaskQueue('notify');

  beforeAll(async () => {
    quietTemporalRuntime();
    temporal = await useTestTemporal();
    client = await connectTemporal(temporal.address, temporal.namespace);
    t = await openTestDatabase('postgres');
    hook = await startWebhookReceiver();
    const [team] = await t.db.insert(teams).values({ name: 'Notify' }).returning();
    const [project] = await t.db.insert(projects).values({ teamId: team!.id, name: 'Churn' }).returning();
    projectId = project!.id;
    await t.db.insert(notificationChannels).values({ projectId, name: 'ops', kind: 'webhook', config: { url: hook.url }, signingSecret: 'whsec_test', createdBy: 'test' });
    connection = await NativeConnection.connect({ address: temporal.address });
    // The worker's real activities (createActivities), with a workflow bundle of the test's own.
    worker = await Worker.create({
      connection,
      namespace: temporal.namespace,
      taskQueue,
      workflowsPath,
      activities: createActivities({ db: t.db, notifications: { settings: () => notificationSettings({ STAGEBOOK_WEBHOOK_ALLOW: '127.0.0.1' }) } }),
    });
    running = worker.run();
  }, 120_000);

  afterAll(async () => {
    if (worker?.getState() === 'RUNNING') worker.shutdown();
    await running;
    await connection?.close();
    await client?.connection.close();
    await hook?.close();
    await t?.dispose();
    await temporal?.stop();
  }, 60_000);

  const notify = async (maximumAttempts?: number) => {
    const { deliveryId } = await enqueueNotification({ ctx: ctxFor(t.db, actor), projectId, channel: 'ops', event: 'scenario.failed', payload: { scenario: 'nightly' } });
    const run = client.workflow.execute('notifyTestWorkflow', { taskQueue, workflowId: `notify-${deliveryId}`, args: [{ deliveryId, ...(maximumAttempts ? { maximumAttempts } : {}) }] });
    return { deliveryId, run: run as Promise<DeliverNotificationResult> };
  };
  const row = async (id: string) => (await t.db.select().from(notificationDeliveries).where(eq(notificationDeliveries.id, id)))[0]!;
  const failureOf = async (p: Promise<unknown>) => {
    const err = await p.then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const activity = (err as WorkflowFailedError).cause;
    expect(activity).toBeInstanceOf(ActivityFailure);
    const app = (activity as ActivityFailure).cause;
    expect(app).toBeInstanceOf(ApplicationFailure);
    return app as ApplicationFailure;
  };

  it('retries a receiver that answers 500 twice and records one delivery with attempts=3', { timeout: 30_000 }, async () => {
    hook.received.length = 0;
    hook.script({ status: 500, body: 'down' }, { status: 500, body: 'still down' });
    const { deliveryId, run } = await notify();
    expect(await run).toEqual({ deliveryId, status: 'delivered', attempts: 3, statusCode: 200, error: null });
    expect(hook.received).toHaveLength(3);
    expect(hook.received.every((r) => r.headers['x-stagebook-delivery'] === deliveryId)).toBe(true);
    expect(await row(deliveryId)).toMatchObject({ status: 'delivered', attempts: 3, lastError: null, lastStatusCode: 200 });
  });

  it('does not retry a 400: the workflow gets a non-retryable failure after one attempt', { timeout: 30_000 }, async () => {
    hook.received.length = 0;
    hook.script({ status: 400, body: 'bad payload' });
    const { deliveryId, run } = await notify();
    const failure = await failureOf(run);
    expect(failure.type).toBe(notificationFailureTypes.permanent);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(/HTTP 400 Bad Request/);
    expect(hook.received).toHaveLength(1);
    expect(await row(deliveryId)).toMatchObject({ status: 'failed', attempts: 1, lastStatusCode: 400, lastError: 'HTTP 400 Bad Request' });
  });

  it('records the delivery failed when the retry policy’s attempts run out', { timeout: 30_000 }, async () => {
    hook.received.length = 0;
    hook.fallback = { status: 503, body: 'maintenance' };
    try {
      const { deliveryId, run } = await notify(3);
      const failure = await failureOf(run);
      expect(failure.type).toBe(notificationFailureTypes.permanent);
      expect(hook.received).toHaveLength(3);
      expect(await row(deliveryId)).toMatchObject({ status: 'failed', attempts: 3, lastStatusCode: 503, lastError: 'gave up after 3 attempts: HTTP 503 Service Unavailable' });
    } finally {
      hook.fallback = { status: 200, body: 'ok' };
    }
  });
});
