import { check, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { sql } from 'drizzle-orm';
import { projects } from './projects';
import { runs } from './runs';

export const notificationChannelKinds = ['webhook', 'email'] as const;
export type NotificationChannelKind = (typeof notificationChannelKinds)[number];

/** What each kind keeps: a webhook its URL, an email channel its recipients. */
export type NotificationChannelConfig = { url: string } | { to: string[] };

/**
 * Where a project's notifications go. A scenario's `notify` step names a channel (`channel: <name>`).
 * Webhook channels sign each request with `signingSecret`, which is shown once at creation (like an
 * API key) but stored as is: the server needs it to sign, so unlike an API key it cannot be hashed.
 */
export const notificationChannels = pgTable(
  'notification_channels',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    /** A lowercase identifier, unique in the project. */
    name: text('name').notNull(),
    kind: text('kind', { enum: notificationChannelKinds }).notNull(),
    config: jsonb('config').$type<NotificationChannelConfig>().notNull(),
    /** Webhooks only; null for email channels. */
    signingSecret: text('signing_secret'),
    /** The actor's audit label. */
    createdBy: text('created_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    /** A disabled channel records its deliveries as failed without sending them. */
    disabledAt: timestamp('disabled_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('notification_channels_project_name_uq').on(t.projectId, t.name),
    check('notification_channels_secret_ck', sql`(${t.kind} = 'webhook') = (${t.signingSecret} is not null)`),
  ],
);

export const notificationEvents = ['scenario.failed', 'scenario.succeeded', 'gate.decision', 'test'] as const;
export type NotificationEvent = (typeof notificationEvents)[number];

export const notificationDeliveryStatuses = ['pending', 'delivered', 'failed'] as const;
export type NotificationDeliveryStatus = (typeof notificationDeliveryStatuses)[number];

/**
 * One notification to one channel and what became of it. The row is written `pending` before any
 * attempt; each attempt bumps `attempts` and records its error, so a person can see why a message
 * is late. The id is sent as `x-stagebook-delivery`: receivers de-duplicate retries with it.
 */
export const notificationDeliveries = pgTable(
  'notification_deliveries',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    channelId: uuid('channel_id')
      .notNull()
      .references(() => notificationChannels.id, { onDelete: 'cascade' }),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    event: text('event', { enum: notificationEvents }).notNull(),
    /** Exactly the JSON body a webhook receives (and what an email is written from). */
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    status: text('status', { enum: notificationDeliveryStatuses }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    /** The HTTP status of the last webhook attempt that got an answer. */
    lastStatusCode: integer('last_status_code'),
    runId: uuid('run_id').references(() => runs.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
  },
  (t) => [
    index('notification_deliveries_project_created_idx').on(t.projectId, t.createdAt),
    index('notification_deliveries_channel_created_idx').on(t.channelId, t.createdAt),
  ],
);
