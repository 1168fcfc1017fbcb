import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { sql } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { addRequest, emptyMinute, type MinuteStats, type RequestOutcome } from '@/server/scoring/request-stats';

const MINUTE_MS = 60_000;
/** Closed minutes kept while the database refuses writes; older ones are dropped (stats, not data). */
const MAX_UNFLUSHED_CLOSED = 10_000;

/**
 * Endpoint request counts and latency histograms, kept in memory per endpoint for the current
 * minute and written as this process's row of `endpoint_request_stats` every `intervalMs` and on
 * close. A row holds the minute's running totals, so a flush overwrites (upsert on endpoint,
 * minute, process): flushing twice, or again after a failed write, never counts twice.
 */
export class RequestStatsRecorder {
  /** Random per start: two processes (or two starts of one) never overwrite each other's rows. */
  readonly process = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private current = new Map<string, MinuteStats & { dirty: boolean }>();
  /** Minutes that ended and still need their final write. */
  private closed: { endpointId: string; stats: MinuteStats }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly db: Db,
    private readonly intervalMs = 5_000,
  ) {}

  record(endpointId: string, outcome: RequestOutcome, records: number, ms: number, now = Date.now()): void {
    const minute = now - (now % MINUTE_MS);
    let s = this.current.get(endpointId);
    if (!s || s.minute !== minute) {
      if (s?.dirty) this.closed.push({ endpointId, stats: s });
      s = { ...emptyMinute(minute), dirty: false };
      this.current.set(endpointId, s);
    }
    addRequest(s, outcome, records, ms);
    s.dirty = true;
    this.arm();
  }

  /** Writes every minute with requests not yet written. Never throws: stats are not worth a crash. */
  async flush(): Promise<void> {
    await this.flushing;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const rows = this.closed.map((c) => ({ endpointId: c.endpointId, ...c.stats }));
    const closedCount = this.closed.length;
    for (const [endpointId, s] of this.current) {
      if (!s.dirty) continue;
      s.dirty = false;
      rows.push({ endpointId, ...s, latencyBuckets: [...s.latencyBuckets] });
    }
    if (rows.length === 0) return;
    this.flushing = this.write(rows).then(
      () => {
        this.closed.splice(0, closedCount);
      },
      (err: unknown) => {
        console.error('could not record endpoint request stats', err);
        // Written again next time: closed minutes stay queued, current ones become dirty again
        // (or queued, if their minute ended while the write was failing).
        for (const r of rows.slice(closedCount)) {
          const s = this.current.get(r.endpointId);
          if (s && s.minute === r.minute) s.dirty = true;
          else if (!this.closed.some((c) => c.endpointId === r.endpointId && c.stats.minute === r.minute)) this.closed.push({ endpointId: r.endpointId, stats: r });
        }
        if (this.closed.length > MAX_UNFLUSHED_CLOSED) this.closed.splice(0, this.closed.length - MAX_UNFLUSHED_CLOSED);
        this.arm();
      },
    );
    await this.flushing;
    this.flushing = null;
  }

  private arm(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, this.intervalMs);
    this.timer.unref();
  }

  /** One statement for all rows; rows of endpoints deleted meanwhile are dropped by the join. */
  private async write(rows: (MinuteStats & { endpointId: string })[]): Promise<void> {
    const arr = (xs: (string | number)[]) => `{${xs.map((x) => (typeof x === 'string' ? `"${x}"` : String(x))).join(',')}}`;
    await this.db.execute(sql`
      insert into endpoint_request_stats
        (endpoint_id, minute, process, requests, records, client_errors, server_errors, latency_buckets, latency_sum_ms)
      select v.endpoint_id, v.minute, ${this.process}, v.requests, v.records, v.client_errors, v.server_errors, v.buckets::integer[], v.sum_ms
      from unnest(
        ${arr(rows.map((r) => r.endpointId))}::uuid[],
        ${arr(rows.map((r) => new Date(r.minute).toISOString()))}::timestamptz[],
        ${arr(rows.map((r) => r.requests))}::integer[],
        ${arr(rows.map((r) => r.records))}::integer[],
        ${arr(rows.map((r) => r.clientErrors))}::integer[],
        ${arr(rows.map((r) => r.serverErrors))}::integer[],
        ${arr(rows.map((r) => `{${r.latencyBuckets.join(',')}}`))}::text[],
        ${arr(rows.map((r) => r.latencySumMs))}::double precision[]
      ) as v(endpoint_id, minute, requests, records, client_errors, server_errors, buckets, sum_ms)
      join endpoints e on e.id = v.endpoint_id
      on conflict (endpoint_id, minute, process) do update set
        requests = excluded.requests, records = excluded.records,
        client_errors = excluded.client_errors, server_errors = excluded.server_errors,
        latency_buckets = excluded.latency_buckets, latency_sum_ms = excluded.latency_sum_ms`);
  }
}
