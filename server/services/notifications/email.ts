import type { AttemptOutcome } from './attempt';
import { errorText, snippet } from './attempt';
import { formatEmail, type NotificationPayload } from './payload';
import type { NotificationSettings } from './settings';

/** Connection-level failures a later attempt may not meet (nodemailer's error codes). */
const TRANSIENT_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ECONNREFUSED', 'ECONNRESET', 'EPROTOCOL']);

type SmtpError = Error & { code?: string; responseCode?: number; response?: string };

/**
 * SMTP says which failures are permanent: a 5xx reply (unknown mailbox, policy refusal) or a refused
 * login will be the same next time; a 4xx reply (greylisting, mailbox busy) or a lost connection
 * may not.
 */
function classify(err: SmtpError): AttemptOutcome {
  const code = typeof err.responseCode === 'number' ? err.responseCode : null;
  const error = snippet(code && err.response ? `SMTP ${code}: ${err.response}` : errorText(err));
  if (code !== null) return code >= 500 ? { kind: 'failed', statusCode: code, error, category: 'rejected' } : { kind: 'retry', statusCode: code, error, category: 'server-error' };
  if (err.code === 'EAUTH') return { kind: 'failed', statusCode: null, error: `the SMTP server refused the login (check SMTP_URL): ${error}`, category: 'rejected' };
  if (err.code && TRANSIENT_CODES.has(err.code)) return { kind: 'retry', statusCode: null, error, category: 'unreachable' };
  return { kind: 'retry', statusCode: null, error, category: 'unreachable' };
}

/** One email to the channel's recipients, over a connection opened for it (notifications are rare). */
export async function sendEmail(to: string[], payload: NotificationPayload, settings: NotificationSettings): Promise<AttemptOutcome> {
  if (!settings.smtpUrl) return { kind: 'failed', statusCode: null, error: 'email is not configured on this server: set SMTP_URL (and SMTP_FROM)', category: 'not-configured' };
  // Loaded on first use: nothing at start needs it.
  const { default: nodemailer } = await import('nodemailer');
  // Timeouts of our own: nodemailer's defaults (2 min to connect, 10 min idle) would hold an attempt far past its activity's.
  const transport = nodemailer.createTransport({ url: settings.smtpUrl, connectionTimeout: settings.timeoutMs, greetingTimeout: settings.timeoutMs, socketTimeout: settings.timeoutMs * 2 });
  try {
    const mail = formatEmail(payload);
    const info = await transport.sendMail({
      from: settings.smtpFrom,
      to,
      subject: mail.subject,
      text: mail.text,
      html: mail.html,
      headers: { 'X-Stagebook-Event': payload.event, 'X-Stagebook-Delivery': payload.id },
    });
    if (info.rejected.length > 0) {
      return { kind: 'failed', statusCode: null, error: `the SMTP server refused ${info.rejected.map(String).join(', ')}`, category: 'rejected' };
    }
    return { kind: 'delivered', statusCode: null };
  } catch (err) {
    return classify(err as SmtpError);
  } finally {
    transport.close();
  }
}
