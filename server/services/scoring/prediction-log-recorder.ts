import { sql } from 'drizzle-orm';
import type { Db } from '@/db/client';

/** One scored record as the hot path notes it: references only, nothing is copied or serialised. */
export type LoggedPrediction = {
  endpointId: string;
  versionId: string;
  bundleHash: string | null;
  at: number;
  requestId: string | null;
  record: unknown;
  probability: number;
  label: string;
  /** Scored by the endpoint's shadow version (logged, not returned); false when omitted. */
  shadow?: boolean;
  /** Shared by a served row and its shadow row; omitted or null when the endpoint has no shadow version. */
  pairId?: string | null;
};

export type PredictionLogOptions = {
  /** Rows kept in memory at most; past it the oldest are dropped (and counted in `dropped`). */
  capacity?: number;
  /**
   * What a crash may lose, at most: every row is committed within this long of being recorded (while
   * the database keeps up), so a SIGKILL loses only predictions served in the last `intervalMs`.
   */
  intervalMs?: number;
  /** Rows per INSERT statement. */
  chunkRows?: number;
  retentionDays?: number;
};

const RETENTION_EVERY_MS = 10 * 60_000;

/**
 * The prediction log (`prediction_log`), written off the hot path like request stats: a request
 * pushes its records onto an in-memory buffer (one array push per record, no serialisation), and the
 * buffer is swapped out and written with one multi-row INSERT per `chunkRows` rows (rows of endpoints
 * deleted meanwhile are dropped by the join).
 *
 * Crash bound: a crash loses at most the predictions of the last `intervalMs` (2 s). A write starts
 * half an interval after the oldest buffered row arrived, leaving the other half for the write itself
 * (milliseconds; a retention pass never holds it up), so a row is committed at most `intervalMs` after
 * it was recorded. Waiting a whole interval before writing would let a crash during that write lose
 * two windows: the rows being written and those buffered behind them. Rows are written in arrival
 * order, one flush at a time, so what survives a crash is a prefix of what was served.
 *
 * The buffer is bounded: when it is full (the database is slow or down, when the bound above cannot
 * hold), the oldest rows are dropped in chunks of a tenth and counted in `dropped`, so memory stays
 * bounded and the loss is visible. A failed write puts its rows back in front, within the same bound.
 * `flush()` on close (the runtime's release) writes what is buffered: a graceful shutdown loses
 * nothing. Rows older than `retentionDays` are deleted every 10 minutes, after a flush.
 */
export class PredictionLogRecorder {
  /** Switched off by the scoring benchmark to measure what logging costs. */
  enabled = true;
  /** Rows dropped because the buffer was full, since the process started. */
  dropped = 0;
  /** Rows written since the process started. */
  written = 0;
  private buffer: LoggedPrediction[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private retaining: Promise<void> | null = null;
  private lastRetention = 0;
  readonly capacity: number;
  private readonly intervalMs: number;
  private readonly chunkRows: number;
  private readonly retentionDays: number;

  constructor(
    private readonly db: Db,
    options: PredictionLogOptions = {},
  ) {
    this.capacity = options.capacity ?? 50_000;
    this.intervalMs = options.intervalMs ?? 2_000;
    this.chunkRows = options.chunkRows ?? 5_000;
    this.retentionDays = options.retentionDays ?? 30;
  }

  /** Rows waiting for the next flush. */
  get buffered(): number {
    return this.buffer.length;
  }

  record(row: LoggedPrediction): void {
    if (!this.enabled) return;
    if (this.buffer.length >= this.capacity) this.dropOldest(1);
    this.buffer.push(row);
    this.arm();
  }

  /** Writes everything buffered. Never throws: a failed write keeps the rows for the next one. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.buffer.length > 0) {
      const rows = this.buffer;
      this.buffer = [];
      this.flushing = this.write(rows);
      await this.flushing;
      this.flushing = null;
    }
    // Apart from the writes: a long delete must not hold back rows waiting for their commit deadline.
    if (!this.retaining && this.retentionDue()) {
      this.lastRetention = Date.now();
      this.retaining = this.deleteExpired().finally(() => (this.retaining = null));
    }
    if (this.retaining) await this.retaining;
  }

  private async write(rows: LoggedPrediction[]): Promise<void> {
    let done = 0;
    try {
      while (done < rows.length) {
        const chunk = rows.slice(done, done + this.chunkRows);
        await this.insert(chunk);
        done += chunk.length;
        this.written += chunk.length;
      }
    } catch (err) {
      console.error('could not write the prediction log', err);
      // Back in front of what arrived meanwhile, oldest first; the bound still holds.
      const left = rows.slice(done);
      this.buffer = left.concat(this.buffer);
      if (this.buffer.length > this.capacity) this.dropOldest(this.buffer.length - this.capacity);
      this.arm();
    }
  }

  private async deleteExpired(): Promise<void> {
    try {
      // Per endpoint id found in the log's index (a skip scan by hand), so the one index serves it,
      // endpoints deleted since included.
      await this.db.execute(sql`
        with recursive ids as (
          (select endpoint_id from prediction_log order by endpoint_id limit 1)
          union all
          select (select p.endpoint_id from prediction_log p where p.endpoint_id > ids.endpoint_id order by p.endpoint_id limit 1) from ids where ids.endpoint_id is not null
        )
        delete from prediction_log p using ids
        where p.endpoint_id = ids.endpoint_id and p.logged_at < now() - make_interval(days => ${this.retentionDays})`);
    } catch (err) {
      console.error('could not delete expired prediction log rows', err);
    }
  }

  private retentionDue(): boolean {
    return Date.now() - this.lastRetention >= RETENTION_EVERY_MS;
  }

  /** Drops at least `n` of the oldest rows, a tenth of the capacity at once (one splice, not one per push). */
  private dropOldest(n: number): void {
    const k = Math.min(this.buffer.length, Math.max(n, Math.ceil(this.capacity / 10)));
    this.buffer.splice(0, k);
    this.dropped += k;
    console.warn(`prediction log: buffer full (${this.capacity} rows), dropped the oldest ${k} (${this.dropped} since start)`);
  }

  /** Called when a row is buffered: the oldest waiting row sets the deadline (see the class comment). */
  private arm(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, this.intervalMs / 2);
    this.timer.unref();
  }

  /**
   * One statement: the rows travel as one JSON parameter (no parameter limit, one round trip); json,
   * not jsonb, so Postgres only validates each record instead of rebuilding it.
   */
  private async insert(rows: LoggedPrediction[]): Promise<void> {
    const json = JSON.stringify(
      rows.map((r) => ({
        e: r.endpointId,
        v: r.versionId,
        b: r.bundleHash,
        t: new Date(r.at).toISOString(),
        q: r.requestId,
        r: r.record,
        p: Number.isFinite(r.probability) ? r.probability : null,
        l: r.label,
        s: r.shadow === true,
        k: r.pairId ?? null,
      })),
    );
    await this.db.execute(sql`
      insert into prediction_log (endpoint_id, model_version_id, bundle_hash, logged_at, request_id, record, probability, label, shadow, pair_id)
      select x.e, x.v, x.b, x.t, x.q, x.r, coalesce(x.p, 'NaN'::float8), x.l, x.s, x.k
      from json_to_recordset(${json}::json) as x(e uuid, v uuid, b text, t timestamptz, q text, r json, p float8, l text, s boolean, k text)
      join endpoints on endpoints.id = x.e`);
  }
}
