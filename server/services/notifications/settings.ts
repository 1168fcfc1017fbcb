import { loadEnv, type Env } from '@/server/env';
import { linkTo, mailSettings, type MailSettings } from '../mail-settings';
import { parseWebhookAllowList, type WebhookAllowList } from './webhook-address';

export { linkTo };

/** What delivery needs from the environment: mail's settings (core) plus the webhook allow-list. */
export type NotificationSettings = MailSettings & {
  /** Non-public webhook destinations allowed anyway (`STAGEBOOK_WEBHOOK_ALLOW`); public ones always are. */
  webhookAllow: WebhookAllowList;
};

export function notificationSettings(env: Pick<Env, 'SMTP_URL' | 'SMTP_FROM' | 'STAGEBOOK_PUBLIC_URL' | 'STAGEBOOK_WEBHOOK_ALLOW'> = loadEnv()): NotificationSettings {
  return { ...mailSettings(env), webhookAllow: parseWebhookAllowList(env.STAGEBOOK_WEBHOOK_ALLOW) };
}
