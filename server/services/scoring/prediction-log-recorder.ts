import { sql } from 'drizzle-orm';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Db } from '@/db/client';
import { driverOf } from '../datasets/storage';
import { encodePredictionRowsBetweenRequests, type LoggedPrediction } from './prediction-log-encode';

export { encodePredictionRows, encodePredictionRowsBetweenRequests, type LoggedPrediction } from './prediction-log-encode';

export type PredictionLogOptions = {
  /** Rows kept in memory at most; past it the oldest are dropped (and counted in `dropped`). */
  capacity?: number;
  /**
   * What a crash may lose, at most: every row is committed within this long of being recorded (while
   * the database keeps up), so a SIGKILL loses only predictions served in the last `intervalMs`.
   */
  intervalMs?: number;
  /** Rows per COPY. */
  chunkRows?: number;
  retentionDays?: number;
};

const RETENTION_EVERY_MS = 10 * 60_000;

/**
 * The prediction log (`prediction_log`), written off the hot path like request stats: a request
 * pushes its records onto an in-memory buffer (one array push per record, no serialisation), and the
 * buffer is swapped out and written with one binary COPY per `chunkRows` rows (rows of endpoints
 * deleted meanwhile are left out).
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
  /** Rows Postgres refused for their data (never retried), since the process started. */
  refused = 0;
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
    const progress = { done: 0 };
    try {
      while (progress.done < rows.length) await this.insertOrSkipRefused(rows.slice(progress.done, progress.done + this.chunkRows), progress);
    } catch (err) {
      const done = progress.done;
      console.error('could not write the prediction log', err);
      // Back in front of what arrived meanwhile, oldest first; the bound still holds.
      const left = rows.slice(done);
      this.buffer = left.concat(this.buffer);
      if (this.buffer.length > this.capacity) this.dropOldest(this.buffer.length - this.capacity);
      this.arm();
    }
  }

  /**
   * A row Postgres refuses for its data (SQLSTATE class 22 or 23) would be refused on every retry
   * and hold back every row behind it: the chunk is halved until the refused rows are alone, the
   * others are written, and each refused one is counted in `refused` and reported by request id.
   * `progress.done` counts the rows dealt with, in order, so a later failure retries only the rest.
   */
  private async insertOrSkipRefused(chunk: LoggedPrediction[], progress: { done: number }): Promise<void> {
    try {
      await this.insert(chunk);
      this.written += chunk.length;
      progress.done += chunk.length;
    } catch (err) {
      if (!isDataRefusal(err)) throw err;
      if (chunk.length === 1) {
        const r = chunk[0]!;
        this.refused++;
        progress.done++;
        console.error(`prediction log: Postgres refused the prediction of request ${r.requestId ?? '(no id)'} on endpoint ${r.endpointId}, which is left out: ${(err as Error).message}`);
        return;
      }
      const half = Math.ceil(chunk.length / 2);
      await this.insertOrSkipRefused(chunk.slice(0, half), progress);
      await this.insertOrSkipRefused(chunk.slice(half), progress);
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
   * One binary COPY per chunk (no escaping, no parsing of numbers or times on either side), after one
   * look-up of the chunk's endpoints: rows of an endpoint deleted meanwhile are left out, as the
   * INSERT ... JOIN endpoints this replaces did. Binary COPY's json is the text as is (json, not
   * jsonb: Postgres only validates each record instead of rebuilding it).
   */
  private async insert(rows: LoggedPrediction[]): Promise<void> {
    const client = await driverOf(this.db).pool.connect();
    let broken: Error | undefined;
    try {
      const ids = [...new Set(rows.map((r) => r.endpointId))];
      const found = await client.query<{ id: string }>('select id::text from endpoints where id = any($1::uuid[])', [ids]);
      const live = new Set(found.rows.map((r) => r.id));
      const kept = live.size === ids.length ? rows : rows.filter((r) => live.has(r.endpointId));
      if (kept.length === 0) return;
      await copyRows(client, await encodePredictionRowsBetweenRequests(kept));
    } catch (err) {
      broken = err instanceof Error ? err : new Error(String(err));
      throw err;
    } finally {
      // A connection whose COPY failed is not worth reusing.
      client.release(broken);
    }
  }
}

/** A data exception or integrity violation: the rows themselves are refused, retrying cannot help. */
function isDataRefusal(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}

const COPY_STATEMENT = 'COPY prediction_log (endpoint_id, model_version_id, bundle_hash, logged_at, request_id, record, probability, label, shadow, pair_id) FROM STDIN (FORMAT binary)';

/**
 * Sends the whole COPY at once, ended in the same turn of the event loop: Postgres's refusal (an
 * event, so later) cannot meet a write (pg-copy-streams drops its connection on it without
 * destroying the stream, and a write would throw); the refusal rejects.
 */
function copyRows(client: pg.PoolClient, data: Buffer[]): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const stream = client.query(copyFrom(COPY_STATEMENT));
    stream.on('finish', resolve);
    stream.on('error', reject);
    for (const part of data) stream.write(part);
    stream.end();
  });
}
