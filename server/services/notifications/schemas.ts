import { z } from 'zod';
import { notificationEvents } from '@/db/schema';
import { Uuid } from '../teams/schemas';

/** Channel names follow the rule of model and endpoint names: a scenario's `notify` step names one. */
export const CHANNEL_NAME = /^[a-z][a-z0-9_-]{0,62}$/;
const NAME_RULE = 'a lowercase name (a-z, 0-9, _ and -; starting with a letter; at most 63 characters)';
export const ChannelName = z.string({ error: 'channel name is required' }).regex(CHANNEL_NAME, { error: `channel name must be ${NAME_RULE}` });

export const WebhookUrl = z
  .string({ error: 'url is required' })
  .trim()
  .max(2000, 'url must be at most 2000 characters')
  .pipe(z.url({ protocol: /^https?$/, error: 'webhook URL must be an http:// or https:// URL' }));

const Recipient = z.string().trim().pipe(z.email({ error: (i) => `"${String(i.input)}" is not an email address` }));
export const Recipients = z
  .array(Recipient, { error: 'to must be a list of email addresses' })
  .min(1, 'give at least one recipient')
  .max(20, 'at most 20 recipients');

export const CreateChannelInput = z.discriminatedUnion(
  'kind',
  [
    z.object({ projectId: Uuid('projectId'), name: ChannelName, kind: z.literal('webhook'), url: WebhookUrl }),
    z.object({ projectId: Uuid('projectId'), name: ChannelName, kind: z.literal('email'), to: Recipients }),
  ],
  { error: 'kind must be webhook or email' },
);
export type CreateChannelInput = z.output<typeof CreateChannelInput>;

export const ChannelRef = z.object({ projectId: Uuid('projectId'), name: ChannelName });

export const ListDeliveriesInput = z.object({ projectId: Uuid('projectId'), channel: ChannelName.optional() });

export const NotificationEventSchema = z.enum(notificationEvents, { error: `event must be one of ${notificationEvents.join(', ')}` });
