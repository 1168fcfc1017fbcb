/**
 * The outcome of one attempt to hand a notification to its channel. `retry` is transient (network,
 * timeout, 5xx, 408, 429, an SMTP 4xx): worth another attempt later. `failed` is permanent (any other
 * 4xx, a redirect, a rejected recipient): another attempt would get the same answer.
 */
export type AttemptOutcome =
  | { kind: 'delivered'; statusCode: number | null }
  | { kind: 'retry'; statusCode: number | null; error: string; category: FailureCategory; retryAfterMs?: number }
  | { kind: 'failed'; statusCode: number | null; error: string; category: FailureCategory };

/**
 * What went wrong, in Stagebook's words. "Send test" answers with this, never with the receiver's
 * error text or body: those would turn the button into a scanner of whatever the server can reach
 * (which ports are open, what answers there).
 */
export const failureCategories = {
  'blocked-address': 'the address is not a public one and is not in STAGEBOOK_WEBHOOK_ALLOW',
  unreachable: 'could not connect, or no answer in time',
  redirect: 'the receiver answered with a redirect (not followed): point the channel at the final URL',
  rejected: 'the receiver refused the message',
  'server-error': 'the receiver failed or asked to retry later',
  'not-configured': 'this kind of channel is not configured on the server',
  disabled: 'the channel is disabled',
} as const;
export type FailureCategory = keyof typeof failureCategories;

/** What a message is made of, whatever the channel. */
export type OutgoingNotification = {
  deliveryId: string;
  event: string;
  /** The JSON body as stored on the delivery row. */
  payload: Record<string, unknown>;
};

export const ERROR_SNIPPET_CHARS = 300;

export function snippet(text: string, max = ERROR_SNIPPET_CHARS): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // fetch wraps the socket error ("fetch failed"); the cause says what happened (ECONNREFUSED ...).
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof Error && cause.message && cause.message !== err.message) return `${err.message}: ${cause.message}`;
  return err.message;
}
