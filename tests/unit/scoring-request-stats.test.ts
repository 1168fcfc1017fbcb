import { describe, expect, it } from 'vitest';
import {
  addHistogram,
  addRequest,
  emptyHistogram,
  emptyMinute,
  LATENCY_BOUNDS_MS,
  LATENCY_BUCKETS,
  latencyBucketOf,
  latencyPercentile,
  outcomeOfStatus,
} from '@/server/scoring/request-stats';

/** A seeded generator, so a failure names its input. */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}

describe('latency histograms', () => {
  it('has log-spaced bounds from 0.1 ms to 10 s, 10 per decade, and an overflow bucket', () => {
    expect(LATENCY_BOUNDS_MS[0]).toBe(0.1);
    expect(LATENCY_BOUNDS_MS[10]).toBe(1);
    expect(LATENCY_BOUNDS_MS.at(-1)).toBe(10_000);
    expect(LATENCY_BUCKETS).toBe(52);
    for (let i = 1; i < LATENCY_BOUNDS_MS.length; i++) expect(LATENCY_BOUNDS_MS[i]! / LATENCY_BOUNDS_MS[i - 1]!).toBeCloseTo(10 ** 0.1, 4);
  });

  it('puts a latency in the first bucket whose upper bound is at least it, bounds included', () => {
    expect(latencyBucketOf(0)).toBe(0);
    expect(latencyBucketOf(-1)).toBe(0);
    expect(latencyBucketOf(Number.NaN)).toBe(0);
    LATENCY_BOUNDS_MS.forEach((b, k) => {
      expect(latencyBucketOf(b), `bound ${b}`).toBe(k);
      expect(latencyBucketOf(b * 1.000001), `just above ${b}`).toBe(k + 1);
      if (k > 0) expect(latencyBucketOf(b * 0.999999), `just below ${b}`).toBe(k);
    });
    expect(latencyBucketOf(60_000)).toBe(LATENCY_BUCKETS - 1);
    expect(latencyBucketOf(Infinity)).toBe(LATENCY_BUCKETS - 1);
  });

  it('reads percentiles within one bucket of the exact ones, from histograms merged across processes and minutes', () => {
    const rand = lcg(7);
    const all: number[] = [];
    const parts = Array.from({ length: 6 }, () => emptyMinute(0));
    for (let i = 0; i < 20_000; i++) {
      // Log-normal-ish: mostly 1-5 ms with a long tail.
      const ms = Math.exp(Math.log(2) + 0.8 * (rand() + rand() + rand() - 1.5) * 2) + (rand() < 0.02 ? 50 * rand() : 0);
      all.push(ms);
      addRequest(parts[i % parts.length]!, 'ok', 1, ms);
    }
    const merged = parts.reduce((h, p) => addHistogram(h, p.latencyBuckets), emptyHistogram());
    expect(merged.reduce((a, b) => a + b, 0)).toBe(all.length);
    all.sort((a, b) => a - b);
    for (const q of [0.5, 0.9, 0.95, 0.99]) {
      const exact = exactQuantile(all, q);
      const read = latencyPercentile(merged, q)!;
      // One bucket is 10^0.1 (~1.26x) wide: the estimate lies in the exact value's bucket.
      expect(read / exact, `p${q * 100}: ${read} vs ${exact}`).toBeGreaterThan(1 / 1.26);
      expect(read / exact, `p${q * 100}: ${read} vs ${exact}`).toBeLessThan(1.26);
    }
  });

  it('interpolates linearly inside the bucket holding the rank', () => {
    const h = emptyHistogram();
    const k = latencyBucketOf(1.1); // (1, 1.2589]
    h[k] = 4;
    const lo = LATENCY_BOUNDS_MS[k - 1]!;
    const hi = LATENCY_BOUNDS_MS[k]!;
    expect(latencyPercentile(h, 0.5)).toBeCloseTo(lo + (hi - lo) * 0.5, 9);
    expect(latencyPercentile(h, 1)).toBeCloseTo(hi, 9);
    h[0] = 4; // four requests at or under 0.1 ms
    expect(latencyPercentile(h, 0.25)).toBeCloseTo(0.05, 9);
    expect(latencyPercentile(h, 0.75)).toBeCloseTo(lo + (hi - lo) * 0.5, 9);
  });

  it('answers null for no requests and "10 s" for the overflow bucket', () => {
    expect(latencyPercentile(emptyHistogram(), 0.5)).toBeNull();
    const h = emptyHistogram();
    h[LATENCY_BUCKETS - 1] = 3;
    expect(latencyPercentile(h, 0.99)).toBe(10_000);
  });

  it('refuses to merge histograms of different bounds', () => {
    expect(() => addHistogram(emptyHistogram(), [1, 2, 3])).toThrow(/3 buckets/);
  });

  it('counts 4xx as client errors, 5xx as server errors, and records only for answered requests', () => {
    expect([200, 400, 401, 404, 413, 499, 500, 503].map(outcomeOfStatus)).toEqual(['ok', 'clientError', 'clientError', 'clientError', 'clientError', 'clientError', 'serverError', 'serverError']);
    const s = emptyMinute(0);
    addRequest(s, 'ok', 10, 2);
    addRequest(s, 'clientError', 5, 0.5);
    addRequest(s, 'serverError', 5, 20);
    expect(s).toMatchObject({ requests: 3, records: 10, clientErrors: 1, serverErrors: 1, latencySumMs: 22.5 });
    expect(s.latencyBuckets.reduce((a, b) => a + b, 0)).toBe(3);
  });
});
