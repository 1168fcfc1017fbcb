import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SIGNING_SECRET_PREFIX = 'whsec_';

/** 32 random bytes; the whole string (prefix included) is the HMAC key receivers use. */
export function newSigningSecret(): string {
  return `${SIGNING_SECRET_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** `sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`, the value of `x-stagebook-signature`. */
export function signWebhook(secret: string, timestamp: string, rawBody: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex')}`;
}

/** What a receiver does (see README.md): recompute, compare in constant time, refuse stale timestamps. */
export function verifyWebhook(secret: string, headers: { timestamp: string; signature: string }, rawBody: string, opts: { toleranceSeconds?: number; now?: number } = {}): boolean {
  const ts = Number(headers.timestamp);
  const now = opts.now ?? Date.now() / 1000;
  if (!Number.isInteger(ts) || Math.abs(now - ts) > (opts.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signWebhook(secret, headers.timestamp, rawBody));
  const given = Buffer.from(headers.signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
