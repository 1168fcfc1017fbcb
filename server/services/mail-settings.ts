import { loadEnv, type Env } from '@/server/env';

/**
 * What sending mail needs from the environment (account email in core, notifications above it);
 * services read it per call so tests can point it elsewhere.
 */
export type MailSettings = {
  /** `smtp://` or `smtps://`; null: email is refused (account email: admins approve members instead). */
  smtpUrl: string | null;
  smtpFrom: string;
  /** Links in messages are absolute when set (`https://stagebook.example.com`), else relative paths. */
  publicUrl: string | null;
  /** One webhook request, connect to last byte; one SMTP conversation step. */
  timeoutMs: number;
};

export const DEFAULT_SMTP_FROM = 'Stagebook <stagebook@localhost>';
export const DELIVERY_TIMEOUT_MS = 10_000;

export function mailSettings(env: Pick<Env, 'SMTP_URL' | 'SMTP_FROM' | 'STAGEBOOK_PUBLIC_URL'> = loadEnv()): MailSettings {
  return {
    smtpUrl: env.SMTP_URL ?? null,
    smtpFrom: env.SMTP_FROM ?? DEFAULT_SMTP_FROM,
    publicUrl: env.STAGEBOOK_PUBLIC_URL ?? null,
    timeoutMs: DELIVERY_TIMEOUT_MS,
  };
}

/** An app path as a link for a message: absolute under the public URL when there is one. */
export function linkTo(settings: Pick<MailSettings, 'publicUrl'>, path: string): string {
  return settings.publicUrl ? new URL(path, settings.publicUrl.endsWith('/') ? settings.publicUrl : `${settings.publicUrl}/`).toString() : path;
}
