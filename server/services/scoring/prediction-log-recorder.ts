import { sql } from 'drizzle-orm';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Db } from '@/db/client';
import { driverOf } from '../datasets/storage';
import { BINARY_COPY_HEADER, BINARY_COPY_TRAILER } from '../models/pg-binary-copy';

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
      await copyRows(client, encodePredictionRows(kept));
    } catch (err) {
      broken = err instanceof Error ? err : new Error(String(err));
      throw err;
    } finally {
      // A connection whose COPY failed is not worth reusing.
      client.release(broken);
    }
  }
}

const COPY_STATEMENT = 'COPY prediction_log (endpoint_id, model_version_id, bundle_hash, logged_at, request_id, record, probability, label, shadow, pair_id) FROM STDIN (FORMAT binary)';

/**
 * Sends one buffer as the whole COPY: nothing is written after `end`, so Postgres refusing mid-way
 * (pg-copy-streams then drops its connection without destroying the stream) cannot meet a later
 * write; the refusal rejects.
 */
function copyRows(client: pg.PoolClient, data: Buffer): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const stream = client.query(copyFrom(COPY_STATEMENT));
    stream.on('finish', resolve);
    stream.on('error', reject);
    stream.end(data);
  });
}

/** Microseconds between the Unix epoch and Postgres's (2000-01-01 UTC). */
const PG_EPOCH_MS = 946_684_800_000;
const TWO_32 = 4_294_967_296;

/**
 * The rows as a binary COPY stream (header, tuples of the COPY_STATEMENT's ten fields, trailer).
 * uuid: 16 bytes; timestamptz: int64 microseconds since 2000-01-01 UTC; float8; bool: one byte;
 * text and json: UTF-8 bytes; NULL: length -1.
 */
export function encodePredictionRows(rows: readonly LoggedPrediction[]): Buffer {
  const uuids = new Map<string, Buffer>();
  const uuid = (id: string) => {
    let b = uuids.get(id);
    if (!b) uuids.set(id, (b = Buffer.from(id.replace(/-/g, ''), 'hex')));
    return b;
  };
  let buf = Buffer.allocUnsafe(64 * 1024);
  let at = 0;
  const room = (n: number) => {
    if (at + n <= buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(buf.length * 2, at + n));
    buf.copy(bigger, 0, 0, at);
    buf = bigger;
  };
  const bytes = (b: Buffer) => {
    room(4 + b.length);
    at = buf.writeInt32BE(b.length, at);
    at += b.copy(buf, at);
  };
  const text = (v: string | null) => {
    if (v === null) {
      room(4);
      at = buf.writeInt32BE(-1, at);
      return;
    }
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    room(4 + v.length * 3);
    const n = buf.write(v, at + 4, 'utf8');
    buf.writeInt32BE(n, at);
    at += 4 + n;
  };
  room(BINARY_COPY_HEADER.length);
  at += BINARY_COPY_HEADER.copy(buf, at);
  for (const r of rows) {
    room(2);
    at = buf.writeInt16BE(10, at);
    bytes(uuid(r.endpointId));
    bytes(uuid(r.versionId));
    text(r.bundleHash);
    const us = (r.at - PG_EPOCH_MS) * 1000;
    const high = Math.floor(us / TWO_32);
    room(4 + 8);
    at = buf.writeInt32BE(8, at);
    at = buf.writeInt32BE(high, at);
    at = buf.writeUInt32BE(us - high * TWO_32, at);
    text(r.requestId);
    // A record JSON cannot spell (undefined) is stored as JSON null: the column is NOT NULL.
    text(JSON.stringify(r.record) ?? 'null');
    room(4 + 8);
    at = buf.writeInt32BE(8, at);
    at = buf.writeDoubleBE(Number.isFinite(r.probability) ? r.probability : NaN, at);
    text(r.label);
    room(4 + 1);
    at = buf.writeInt32BE(1, at);
    at = buf.writeUInt8(r.shadow === true ? 1 : 0, at);
    text(r.pairId ?? null);
  }
  room(BINARY_COPY_TRAILER.length);
  at += BINARY_COPY_TRAILER.copy(buf, at);
  return buf.subarray(0, at);
}
