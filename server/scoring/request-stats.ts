/**
 * Latency histograms of endpoint requests: fixed, log-spaced bucket bounds (10 per decade from
 * 0.1 ms to 10 s), so histograms of any process and any minute add up bucket by bucket, and a
 * percentile of the sum is read by interpolating inside one bucket (at most ~26% wide).
 *
 * The bounds are part of the stored format (`endpoint_request_stats.latency_buckets`): changing
 * them makes old rows unreadable, so a change needs a new column, not an edit here.
 */

const PER_DECADE = 10;
const MIN_MS = 0.1;
const DECADES = 5;

/** Upper bounds (inclusive) of buckets 0..50; bucket 51 holds everything above 10 s. */
export const LATENCY_BOUNDS_MS: readonly number[] = Array.from({ length: PER_DECADE * DECADES + 1 }, (_, i) => Number((MIN_MS * 10 ** (i / PER_DECADE)).toPrecision(6)));
export const LATENCY_BUCKETS = LATENCY_BOUNDS_MS.length + 1;
const LAST_BOUND = LATENCY_BOUNDS_MS.length - 1;

/** The bucket of a latency: the first whose upper bound is >= ms. O(1): a log and at most a step. */
export function latencyBucketOf(ms: number): number {
  if (!(ms > MIN_MS)) return 0;
  let k = Math.ceil(PER_DECADE * Math.log10(ms / MIN_MS));
  if (k > LAST_BOUND) return ms > LATENCY_BOUNDS_MS[LAST_BOUND]! ? LAST_BOUND + 1 : LAST_BOUND;
  // log10 rounding can land one off next to a bound.
  if (k > 0 && ms <= LATENCY_BOUNDS_MS[k - 1]!) k--;
  else if (ms > LATENCY_BOUNDS_MS[k]!) k++;
  return k;
}

/** Adds `from` into `into`, bucket by bucket (histograms of different lengths are a bug). */
export function addHistogram(into: number[], from: ArrayLike<number>): number[] {
  if (from.length !== into.length) throw new Error(`latency histogram of ${from.length} buckets, expected ${into.length}`);
  for (let i = 0; i < into.length; i++) into[i]! += from[i]!;
  return into;
}

export function emptyHistogram(): number[] {
  return new Array<number>(LATENCY_BUCKETS).fill(0);
}

/**
 * The q-quantile (0 < q <= 1) of a histogram, in ms, interpolated linearly inside the bucket that
 * holds rank q·n; null when empty. Above the last bound nothing is known but "more than 10 s":
 * that is what it answers.
 */
export function latencyPercentile(histogram: ArrayLike<number>, q: number): number | null {
  let total = 0;
  for (let i = 0; i < histogram.length; i++) total += histogram[i]!;
  if (total === 0) return null;
  const rank = Math.max(q * total, Number.MIN_VALUE);
  let below = 0;
  for (let k = 0; k < histogram.length; k++) {
    const count = histogram[k]!;
    if (count > 0 && below + count >= rank) {
      if (k > LAST_BOUND) return LATENCY_BOUNDS_MS[LAST_BOUND]!;
      const lo = k === 0 ? 0 : LATENCY_BOUNDS_MS[k - 1]!;
      const hi = LATENCY_BOUNDS_MS[k]!;
      return lo + ((hi - lo) * (rank - below)) / count;
    }
    below += count;
  }
  return LATENCY_BOUNDS_MS[LAST_BOUND]!;
}

/** One endpoint's running totals for one minute in this process. */
export type MinuteStats = {
  /** Start of the minute, epoch ms. */
  minute: number;
  requests: number;
  records: number;
  clientErrors: number;
  serverErrors: number;
  latencyBuckets: number[];
  latencySumMs: number;
};

export function emptyMinute(minute: number): MinuteStats {
  return { minute, requests: 0, records: 0, clientErrors: 0, serverErrors: 0, latencyBuckets: emptyHistogram(), latencySumMs: 0 };
}

/** How a request ended, by HTTP status class: 4xx is the client's doing, 5xx ours. */
export type RequestOutcome = 'ok' | 'clientError' | 'serverError';

export function outcomeOfStatus(status: number): RequestOutcome {
  return status >= 500 ? 'serverError' : status >= 400 ? 'clientError' : 'ok';
}

/** The hot path's whole cost: a few increments. `records` counts only for answered requests. */
export function addRequest(s: MinuteStats, outcome: RequestOutcome, records: number, ms: number): void {
  s.requests++;
  if (outcome === 'ok') s.records += records;
  else if (outcome === 'clientError') s.clientErrors++;
  else s.serverErrors++;
  s.latencyBuckets[latencyBucketOf(ms)]!++;
  s.latencySumMs += ms;
}
