/** The prediction log's rows as binary COPY tuples (prediction-log-recorder.ts writes them). Pure (no I/O). */
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

/** Microseconds between the Unix epoch and Postgres's (2000-01-01 UTC). */
const PG_EPOCH_MS = 946_684_800_000;
const TWO_32 = 4_294_967_296;

/**
 * The rows as a binary COPY stream (header, tuples of the recorder's COPY_STATEMENT's ten fields, trailer).
 * uuid: 16 bytes; timestamptz: int64 microseconds since 2000-01-01 UTC; float8; bool: one byte;
 * text and json: UTF-8 bytes (a NUL, which Postgres text cannot hold, as U+FFFD); NULL: length -1. Runs on the event loop between requests, so it
 * avoids a native call per field where it can: each endpoint and version pair's 40 bytes are
 * encoded once, short ASCII text is copied a character at a time.
 */
export function encodePredictionRows(rows: readonly LoggedPrediction[]): Buffer[] {
  const out = new CopyBuffer();
  const pairs = new PairIds();
  out.bytes(BINARY_COPY_HEADER);
  for (const r of rows) encodeRow(out, pairs, r);
  out.bytes(BINARY_COPY_TRAILER);
  return out.done();
}

/** Rows encoded between two turns of the event loop (about a millisecond of work). */
const ROWS_PER_TURN = 500;

/**
 * `encodePredictionRows`, the same bytes, in slices of ROWS_PER_TURN rows with the event loop
 * turning between them: a chunk of thousands of rows encoded at once held every request that
 * arrived meanwhile for as long (the scoring tail latency, at a write every second).
 */
export async function encodePredictionRowsBetweenRequests(rows: readonly LoggedPrediction[]): Promise<Buffer[]> {
  const out = new CopyBuffer();
  const pairs = new PairIds();
  out.bytes(BINARY_COPY_HEADER);
  for (let i = 0; i < rows.length; i++) {
    if (i > 0 && i % ROWS_PER_TURN === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    encodeRow(out, pairs, rows[i]!);
  }
  out.bytes(BINARY_COPY_TRAILER);
  return out.done();
}

/** One tuple; `pairs` caches each endpoint and version pair's encoded ids. */
function encodeRow(out: CopyBuffer, pairs: PairIds, r: LoggedPrediction): void {
  out.room(2);
  out.int16(10);
  out.bytes(pairs.of(r.endpointId, r.versionId));
  out.text(r.bundleHash);
  const us = (r.at - PG_EPOCH_MS) * 1000;
  const high = Math.floor(us / TWO_32);
  out.room(12);
  out.int32(8);
  out.int32(high);
  out.uint32(us - high * TWO_32);
  out.text(r.requestId);
  // A record JSON cannot spell (undefined) is stored as JSON null: the column is NOT NULL.
  out.text(JSON.stringify(r.record) ?? 'null');
  out.room(12);
  out.int32(8);
  out.float64(Number.isFinite(r.probability) ? r.probability : NaN);
  out.text(r.label);
  out.room(5);
  out.int32(1);
  out.uint8(r.shadow === true ? 1 : 0);
  out.text(r.pairId ?? null);
}

/**
 * Each endpoint and version pair's two encoded uuid fields. Rows come in runs of one pair (the
 * endpoint's served version), so the last pair is checked first: no key string is built per row.
 */
class PairIds {
  private readonly byKey = new Map<string, Buffer>();
  private lastEndpoint = '';
  private lastVersion = '';
  private last: Buffer | null = null;
  of(endpointId: string, versionId: string): Buffer {
    if (this.last !== null && endpointId === this.lastEndpoint && versionId === this.lastVersion) return this.last;
    const key = endpointId + versionId;
    let pair = this.byKey.get(key);
    if (!pair) this.byKey.set(key, (pair = uuidPair(endpointId, versionId)));
    this.lastEndpoint = endpointId;
    this.lastVersion = versionId;
    return (this.last = pair);
  }
}

/** Two uuid fields (length 16, then the bytes) as binary COPY has them. */
function uuidPair(a: string, b: string): Buffer {
  const out = Buffer.alloc(40);
  out.writeInt32BE(16, 0);
  Buffer.from(a.replace(/-/g, ''), 'hex').copy(out, 4);
  out.writeInt32BE(16, 20);
  Buffer.from(b.replace(/-/g, ''), 'hex').copy(out, 24);
  return out;
}

/** Node's Buffer method behind `write(string, offset, 'utf8')` (in every Node version, untyped). */
type Utf8Writable = Buffer & { utf8Write(s: string, offset: number): number };

/** Bytes in buffers of 1 MB (none copied to grow); `room(n)` right before the fixed-size writes it covers (text and bytes make their own). */
class CopyBuffer {
  private static readonly PART = 1024 * 1024;
  private readonly parts: Buffer[] = [];
  private buf = Buffer.allocUnsafe(CopyBuffer.PART);
  private at = 0;
  room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    this.parts.push(this.buf.subarray(0, this.at));
    this.buf = Buffer.allocUnsafe(Math.max(CopyBuffer.PART, n));
    this.at = 0;
  }
  // Byte stores rather than Buffer's writeInt32BE and kin: those check their arguments on every call
  // (and were not inlined on the server's hot path); `room` has already made the space.
  int16(v: number): void {
    const b = this.buf;
    const at = this.at;
    b[at] = v >>> 8;
    b[at + 1] = v;
    this.at = at + 2;
  }
  /** Two's complement for negative values (a NULL's -1), as `uint32` for the rest. */
  int32(v: number): void {
    this.uint32(v >>> 0);
  }
  uint32(v: number): void {
    const b = this.buf;
    const at = this.at;
    b[at] = v >>> 24;
    b[at + 1] = v >>> 16;
    b[at + 2] = v >>> 8;
    b[at + 3] = v;
    this.at = at + 4;
  }
  uint8(v: number): void {
    this.buf[this.at++] = v;
  }
  float64(v: number): void {
    this.at = this.buf.writeDoubleBE(v, this.at);
  }
  bytes(b: Buffer): void {
    this.room(b.length);
    if (b.length <= 64) for (let i = 0; i < b.length; i++) this.buf[this.at++] = b[i]!;
    else this.at += b.copy(this.buf, this.at);
  }
  /** A text field (length, UTF-8 bytes) or NULL (length -1). */
  text(v: string | null): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    this.room(4 + (v === null ? 0 : v.length * 3));
    if (v === null) {
      this.int32(-1);
      return;
    }
    const start = this.at + 4;
    if (v.length <= 64) {
      let i = 0;
      for (; i < v.length; i++) {
        const c = v.charCodeAt(i);
        if (c >= 0x80 || c === 0) break;
        this.buf[start + i] = c;
      }
      if (i === v.length) {
        this.int32(v.length);
        this.at += v.length;
        return;
      }
    }
    // Postgres text cannot hold NUL: stored as U+FFFD (the replacement character) rather than refused.
    // `utf8Write` is what `Buffer#write(v, start, 'utf8')` ends in, without its argument juggling
    // (about 0.3 us a call here, as much as the encoding of a whole record's text).
    const n = (this.buf as Utf8Writable).utf8Write(v.includes('\0') ? v.replaceAll('\0', '\uFFFD') : v, start);
    this.int32(n);
    this.at += n;
  }
  done(): Buffer[] {
    return [...this.parts, this.buf.subarray(0, this.at)];
  }
}
