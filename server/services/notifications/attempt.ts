/**
 * The outcome of one attempt to hand a notification to its channel. `retry` is transient (network,
 * timeout, 5xx, 408, 429, an SMTP 4xx): worth another attempt later. `failed` is permanent (any other
 * 4xx, a redirect, a rejected recipient): another attempt would get the same answer.
 */
export type AttemptOutcome =
  | { kind: 'delivered'; statusCode: number | null }
  | { kind: 'retry'; statusCode: number | null; error: string; retryAfterMs?: number }
  | { kind: 'failed'; statusCode: number | null; error: string };

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
