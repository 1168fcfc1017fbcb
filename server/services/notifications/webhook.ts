import type { AttemptOutcome, OutgoingNotification } from './attempt';
import { errorText, snippet } from './attempt';
import { signWebhook } from './signature';

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

async function bodySnippet(res: Response): Promise<string> {
  try {
    return snippet(await res.text());
  } catch {
    return '';
  }
}

/**
 * One signed POST. Redirects are not followed: a POST that would turn into a GET (or be re-sent to
 * a host the channel never named) is a misconfigured URL, reported as such.
 */
export async function postWebhook(url: string, secret: string, message: OutgoingNotification, timeoutMs: number): Promise<AttemptOutcome> {
  const body = JSON.stringify(message.payload);
  const timestamp = String(Math.floor(Date.now() / 1000));
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
      headers: {
        'content-type': 'application/json',
        'user-agent': WEBHOOK_USER_AGENT,
        'x-stagebook-event': message.event,
        'x-stagebook-delivery': message.deliveryId,
        'x-stagebook-timestamp': timestamp,
        'x-stagebook-signature': signWebhook(secret, timestamp, body),
      },
      body,
    });
  } catch (err) {
    const timedOut = err instanceof DOMException && err.name === 'TimeoutError';
    return { kind: 'retry', statusCode: null, error: timedOut ? `no answer within ${timeoutMs / 1000} s` : errorText(err) };
  }
  if (res.status >= 200 && res.status < 300) {
    await res.body?.cancel().catch(() => undefined);
    return { kind: 'delivered', statusCode: res.status };
  }
  if (res.status >= 300 && res.status < 400) {
    await res.body?.cancel().catch(() => undefined);
    const to = res.headers.get('location');
    return { kind: 'failed', statusCode: res.status, error: `HTTP ${res.status}: redirected${to ? ` to ${snippet(to, 200)}` : ''}; point the channel at the final URL` };
  }
  const text = await bodySnippet(res);
  const error = `HTTP ${res.status}${text ? `: ${text}` : ''}`;
  if (isRetryableStatus(res.status)) {
    const after = retryAfterMs(res.headers.get('retry-after'));
    return { kind: 'retry', statusCode: res.status, error, ...(after ? { retryAfterMs: after } : {}) };
  }
  return { kind: 'failed', statusCode: res.status, error };
}
