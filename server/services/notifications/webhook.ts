import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { AttemptOutcome, OutgoingNotification } from './attempt';
import { errorText, snippet } from './attempt';
import type { NotificationSettings } from './settings';
import { signWebhook } from './signature';
import { assertSendable, guardedLookup, hostAllowed, WebhookAddressRefused } from './webhook-address';

export const WEBHOOK_USER_AGENT = 'Stagebook-Webhook/1';
const MAX_RETRY_AFTER_MS = 10 * 60_000;

/** Statuses worth retrying: the receiver is down, overloaded or asked us to slow down. */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const secs = Number(header);
  const ms = Number.isFinite(secs) ? secs * 1000 : Date.parse(header) - Date.now();
  return Number.isFinite(ms) && ms > 0 ? Math.min(ms, MAX_RETRY_AFTER_MS) : undefined;
}

type Answer = { status: number; headers: http.IncomingHttpHeaders };

/**
 * What a delivery keeps of a refusal: the status and its standard reason phrase ("HTTP 503 Service
 * Unavailable"), never the receiver's body or its own reason text. Those can be anything the
 * receiver (or whatever answers at that address) chooses, and stored errors are shown to every
 * project member and kept with the delivery.
 */
export function statusLine(status: number): string {
  const reason = http.STATUS_CODES[status];
  return reason ? `HTTP ${status} ${reason}` : `HTTP ${status}`;
}

/** A redirect's target as far as it helps fix the channel: scheme, host and path, no query. */
function redirectTarget(location: string | undefined): string {
  if (!location) return '';
  try {
    const u = new URL(location);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return '';
    return ` to ${snippet(`${u.protocol}//${u.host}${u.pathname}`.replace(/[^\x21-\x7e]/g, ''), 200)}`;
  } catch {
    return '';
  }
}

/**
 * One POST over node:http(s) rather than fetch: fetch cannot be told which address to connect to, and
 * the address must be the one that was checked (see webhook-address.ts).
 */
function post(url: URL, headers: Record<string, string>, body: string, settings: Pick<NotificationSettings, 'timeoutMs' | 'webhookAllow'>): Promise<Answer> {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const byName = hostAllowed(host, settings.webhookAllow);
  // An address literal never reaches `lookup`: check it here. URL parsing already turned the odd
  // spellings (2130706433, 0x7f.1, [::ffff:127.0.0.1]) into the address they stand for.
  if (!byName && net.isIP(host)) assertSendable(host, host, settings.webhookAllow);
  const request = url.protocol === 'https:' ? https.request : http.request;
  return new Promise<Answer>((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        signal: AbortSignal.timeout(settings.timeoutMs),
        ...(byName ? {} : { lookup: guardedLookup(settings.webhookAllow) }),
        agent: false,
      },
      (res) => {
        // The status is all that is kept: the body is not read (the connection is not reused).
        resolve({ status: res.statusCode ?? 0, headers: res.headers });
        res.destroy();
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * One signed POST. Redirects are not followed: a POST that would turn into a GET (or be re-sent to
 * a host the channel never named, perhaps an internal one) is a misconfigured URL, reported as such.
 */
export async function postWebhook(
  url: string,
  secret: string,
  message: OutgoingNotification,
  settings: Pick<NotificationSettings, 'timeoutMs' | 'webhookAllow'>,
): Promise<AttemptOutcome> {
  const body = JSON.stringify(message.payload);
  const timestamp = String(Math.floor(Date.now() / 1000));
  let res: Answer;
  try {
    res = await post(
      new URL(url),
      {
        'content-type': 'application/json',
        'user-agent': WEBHOOK_USER_AGENT,
        'x-stagebook-event': message.event,
        'x-stagebook-delivery': message.deliveryId,
        'x-stagebook-timestamp': timestamp,
        'x-stagebook-signature': signWebhook(secret, timestamp, body),
      },
      body,
      settings,
    );
  } catch (err) {
    if (err instanceof WebhookAddressRefused) return { kind: 'failed', statusCode: null, error: err.message, category: 'blocked-address' };
    const timedOut = err instanceof Error && (err.name === 'TimeoutError' || (err.name === 'AbortError' && /timeout/i.test(String((err as { cause?: unknown }).cause))));
    return { kind: 'retry', statusCode: null, error: timedOut ? `no answer within ${settings.timeoutMs / 1000} s` : errorText(err), category: 'unreachable' };
  }
  if (res.status >= 200 && res.status < 300) return { kind: 'delivered', statusCode: res.status };
  if (res.status >= 300 && res.status < 400) {
    return { kind: 'failed', statusCode: res.status, error: `${statusLine(res.status)}: redirected${redirectTarget(res.headers.location)}; point the channel at the final URL`, category: 'redirect' };
  }
  const error = statusLine(res.status);
  if (isRetryableStatus(res.status)) {
    const header = res.headers['retry-after'];
    const after = retryAfterMs(typeof header === 'string' ? header : null);
    return { kind: 'retry', statusCode: res.status, error, category: 'server-error', ...(after ? { retryAfterMs: after } : {}) };
  }
  return { kind: 'failed', statusCode: res.status, error, category: 'rejected' };
}
