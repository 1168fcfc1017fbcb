import { sql } from 'drizzle-orm';
import type { z } from 'zod';
import type { DbOrTx } from '@/db/client';
import { addHistogram, emptyHistogram, latencyPercentile, LATENCY_BUCKETS } from '@/server/scoring/request-stats';
import type { ServiceCtx } from '../context';
import { assertNever } from '../errors';
import { findEndpoint } from './find-endpoint';
import type { EndpointStatsInput } from './schemas';

type StatsRange = z.output<typeof EndpointStatsInput>['range'];

/** One interval of an endpoint's traffic; latencies in ms, null when there was no request. */
export type EndpointStatsPoint = {
  /** Start of the interval, ISO 8601. */
  at: string;
  requests: number;
  records: number;
  clientErrors: number;
  serverErrors: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  meanMs: number | null;
};

export type EndpointStats = {
  range: StatsRange;
  intervalMinutes: number;
  points: EndpointStatsPoint[];
  /** The whole range at once (percentiles of the merged histogram, not an average of points). */
  total: Omit<EndpointStatsPoint, 'at'>;
};

function shapeOf(range: StatsRange): { intervalMinutes: number; points: number } {
  switch (range) {
    case '1h':
      return { intervalMinutes: 1, points: 60 };
    case '24h':
      return { intervalMinutes: 15, points: 96 };
    case '7d':
      return { intervalMinutes: 60, points: 168 };
    default:
      return assertNever(range, 'stats range');
  }
}

type Totals = { t: Date | string; requests: number; records: number; client_errors: number; server_errors: number; sum_ms: number };
type BucketSum = { t: Date | string; i: number; n: number };

async function rowsOf<T>(db: DbOrTx, query: ReturnType<typeof sql>): Promise<T[]> {
  // drizzle's node-postgres execute() answers pg's QueryResult.
  return ((await db.execute(query)) as unknown as { rows: T[] }).rows;
}

/**
 * An endpoint's requests, errors, records and latency percentiles per interval over the last hour
 * (by minute), day (15 min) or week (hour), every interval present (zeros without traffic), the
 * last one still running. The rows of all serving processes and minutes in an interval are summed,
 * histograms bucket by bucket, before any percentile is read.
 */
export async function endpointStats({ ctx, input, now = new Date() }: { ctx: ServiceCtx; input: z.output<typeof EndpointStatsInput>; now?: Date }): Promise<EndpointStats> {
  const endpoint = await findEndpoint(ctx.db, input);
  const { intervalMinutes, points } = shapeOf(input.range);
  const step = intervalMinutes * 60_000;
  const last = now.getTime() - (now.getTime() % step);
  const since = new Date(last - (points - 1) * step);
  const bin = sql`date_bin(${`${intervalMinutes} minutes`}::interval, minute, timestamptz '2000-01-01 00:00:00+00')`;
  const where = sql`endpoint_id = ${endpoint.id} and minute >= ${since.toISOString()}::timestamptz`;
  const [totals, buckets] = await Promise.all([
    rowsOf<Totals>(
      ctx.db,
      sql`select ${bin} as t, sum(requests)::int as requests, sum(records)::int as records, sum(client_errors)::int as client_errors,
                 sum(server_errors)::int as server_errors, sum(latency_sum_ms)::float8 as sum_ms
          from endpoint_request_stats where ${where} group by 1`,
    ),
    rowsOf<BucketSum>(
      ctx.db,
      sql`select ${bin} as t, u.i::int as i, sum(u.n)::int as n
          from endpoint_request_stats, unnest(latency_buckets) with ordinality as u(n, i)
          where ${where} group by 1, 2 having sum(u.n) > 0`,
    ),
  ]);

  const indexOf = (t: Date | string) => Math.round((new Date(t).getTime() - since.getTime()) / step);
  const histograms = Array.from({ length: points }, () => emptyHistogram());
  const all = emptyHistogram();
  for (const b of buckets) {
    const h = histograms[indexOf(b.t)];
    // Rows written with other bounds than today's (see request-stats.ts) cannot be merged: skipped.
    if (!h || b.i < 1 || b.i > LATENCY_BUCKETS) continue;
    h[b.i - 1]! += b.n;
  }
  const byIndex = new Map(totals.map((r) => [indexOf(r.t), r]));
  const sum = { requests: 0, records: 0, clientErrors: 0, serverErrors: 0, sumMs: 0 };
  const out = histograms.map((h, i): EndpointStatsPoint => {
    const r = byIndex.get(i);
    addHistogram(all, h);
    const requests = r?.requests ?? 0;
    sum.requests += requests;
    sum.records += r?.records ?? 0;
    sum.clientErrors += r?.client_errors ?? 0;
    sum.serverErrors += r?.server_errors ?? 0;
    sum.sumMs += r?.sum_ms ?? 0;
    return {
      at: new Date(since.getTime() + i * step).toISOString(),
      requests,
      records: r?.records ?? 0,
      clientErrors: r?.client_errors ?? 0,
      serverErrors: r?.server_errors ?? 0,
      ...percentiles(h),
      meanMs: requests > 0 ? r!.sum_ms / requests : null,
    };
  });
  return {
    range: input.range,
    intervalMinutes,
    points: out,
    total: {
      requests: sum.requests,
      records: sum.records,
      clientErrors: sum.clientErrors,
      serverErrors: sum.serverErrors,
      ...percentiles(all),
      meanMs: sum.requests > 0 ? sum.sumMs / sum.requests : null,
    },
  };
}

function percentiles(h: number[]): { p50: number | null; p95: number | null; p99: number | null } {
  return { p50: latencyPercentile(h, 0.5), p95: latencyPercentile(h, 0.95), p99: latencyPercentile(h, 0.99) };
}
