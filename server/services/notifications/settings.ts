import { loadEnv, type Env } from '@/server/env';
import { parseWebhookAllowList, type WebhookAllowList } from './webhook-address';

/** What delivery needs from the environment; services read it per call so tests can point it elsewhere. */
export type NotificationSettings = {
  /** `smtp://` or `smtps://`; null: email channels are refused. */
  smtpUrl: string | null;
  smtpFrom: string;
  /** Links in notifications are absolute when set (`https://stagebook.example.com`), else relative paths. */
  publicUrl: string | null;
  /** One webhook request, connect to last byte; one SMTP conversation step. */
  timeoutMs: number;
  /** Non-public webhook destinations allowed anyway (`STAGEBOOK_WEBHOOK_ALLOW`); public ones always are. */
  webhookAllow: WebhookAllowList;
};

export const DEFAULT_SMTP_FROM = 'Stagebook <stagebook@localhost>';
export const DELIVERY_TIMEOUT_MS = 10_000;

export function notificationSettings(env: Pick<Env, 'SMTP_URL' | 'SMTP_FROM' | 'STAGEBOOK_PUBLIC_URL' | 'STAGEBOOK_WEBHOOK_ALLOW'> = loadEnv()): NotificationSettings {
  return {
    smtpUrl: env.SMTP_URL ?? null,
    smtpFrom: env.SMTP_FROM ?? DEFAULT_SMTP_FROM,
    publicUrl: env.STAGEBOOK_PUBLIC_URL ?? null,
    timeoutMs: DELIVERY_TIMEOUT_MS,
    webhookAllow: parseWebhookAllowList(env.STAGEBOOK_WEBHOOK_ALLOW),
  };
}

/** An app path as a link for a message: absolute under the public URL when there is one. */
export function linkTo(settings: Pick<NotificationSettings, 'publicUrl'>, path: string): string {
  return settings.publicUrl ? new URL(path, settings.publicUrl.endsWith('/') ? settings.publicUrl : `${settings.publicUrl}/`).toString() : path;
}
