import { inArray, sql } from 'drizzle-orm';
import type { DbOrTx } from '@/db/client';
import { authAttemptCounters } from '@/db/schema';
import { tooManyRequests } from '../errors';

/** A limit on attempts per key within a fixed window. */
export type AttemptLimit = { key: string; max: number };

export const ATTEMPT_WINDOW_MS = 15 * 60 * 1000;

/**
 * Counts one attempt against every key and refuses when any is over its limit, in one statement,
 * before the caller checks a password: the count is taken atomically, so 40 guesses in parallel
 * see 1..40 and only the first `max` go on to be evaluated (reading the count, checking the
 * password and writing a failure afterwards let them all through). Refused attempts count too but
 * never move the window, so the correct password stays refused until the window has passed.
 * Keys are locked in the order given; callers pass the same kinds in the same order (email before
 * client address), so concurrent statements cannot deadlock.
 */
export async function takeAttempt(db: DbOrTx, limits: AttemptLimit[], message: string): Promise<void> {
  if (limits.length === 0) return;
  const c = authAttemptCounters;
  const expired = sql`${c.windowStart} <= now() - make_interval(secs => ${ATTEMPT_WINDOW_MS / 1000})`;
  const rows = await db
    .insert(c)
    .values(limits.map((l) => ({ key: l.key, attempts: 1 })))
    .onConflictDoUpdate({
      target: c.key,
      set: {
        attempts: sql`case when ${expired} then 1 else ${c.attempts} + 1 end`,
        windowStart: sql`case when ${expired} then now() else ${c.windowStart} end`,
      },
    })
    .returning({ key: c.key, attempts: c.attempts });
  const over = rows.some((r) => r.attempts > (limits.find((l) => l.key === r.key)?.max ?? Infinity));
  if (over) throw tooManyRequests(message);
}

/**
 * Gives back an attempt that turned out not to be a failure (a correct password), so the limits
 * count failures and attempts still in flight, never a user's successful sign-ins.
 */
export async function refundAttempt(db: DbOrTx, keys: string[]): Promise<void> {
  if (keys.length === 0) return;
  await db
    .update(authAttemptCounters)
    .set({ attempts: sql`greatest(${authAttemptCounters.attempts} - 1, 0)` })
    .where(inArray(authAttemptCounters.key, keys));
}
