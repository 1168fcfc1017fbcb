import { BINARY_COPY_HEADER, BINARY_COPY_TRAILER } from '../models/pg-binary-copy';

/** One scored record as the request path hands it over; encoded at once, not kept. */
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

/** Bytes of a slab, unless one row needs more. */
const SLAB_BYTES = 256 * 1024;

/**
 * Encoded rows (binary COPY tuples, in arrival order) packed end to end; rows are only ever appended,
 * so a span taken for a write stays valid while later rows land behind it.
 */
class Slab {
  readonly buf: Buffer;
  used = 0;
  /** Where each row's tuple starts; it ends where the next starts, the last at `used`. */
  readonly starts: number[] = [];
  readonly endpoints: string[] = [];
  constructor(bytes: number) {
    this.buf = Buffer.allocUnsafe(bytes);
  }
  end(row: number): number {
    return row + 1 < this.starts.length ? this.starts[row + 1]! : this.used;
  }
}

/** Rows `from` to `to` (exclusive) of a slab. */
type Span = { readonly slab: Slab; readonly from: number; readonly to: number };

/**
 * A sequence of encoded rows, oldest first: what the log holds, a write, a chunk of a write. Values:
 * every operation returns new spans, so a write's rows never change under it.
 */
export class EncodedRows {
  constructor(
    readonly spans: readonly Span[] = [],
    readonly length = spans.reduce((n, s) => n + s.to - s.from, 0),
  ) {}

  /** Rows `start` to `end` (exclusive) of these. */
  slice(start: number, end = this.length): EncodedRows {
    const out: Span[] = [];
    let at = 0;
    for (const s of this.spans) {
      const n = s.to - s.from;
      const from = Math.max(start - at, 0);
      const to = Math.min(end - at, n);
      if (from < to) out.push({ slab: s.slab, from: s.from + from, to: s.from + to });
      at += n;
      if (at >= end) break;
    }
    return new EncodedRows(out, Math.max(0, Math.min(end, this.length) - Math.max(start, 0)));
  }

  concat(later: EncodedRows): EncodedRows {
    return new EncodedRows([...this.spans, ...later.spans], this.length + later.length);
  }

  /** The endpoints the rows name, each once. */
  endpointIds(): string[] {
    const ids = new Set<string>();
    let last: string | undefined;
    for (const s of this.spans) {
      for (let i = s.from; i < s.to; i++) {
        const id = s.slab.endpoints[i]!;
        if (id !== last) ids.add((last = id));
      }
    }
    return [...ids];
  }

  /** The rows as one binary COPY stream (header, tuples, trailer), keeping only those `keep` accepts; no row copied. */
  copyData(keep?: (endpointId: string) => boolean): Buffer[] {
    const out: Buffer[] = [BINARY_COPY_HEADER];
    for (const s of this.spans) {
      let run = s.from;
      for (let i = s.from; keep && i < s.to; i++) {
        if (keep(s.slab.endpoints[i]!)) continue;
        if (run < i) out.push(s.slab.buf.subarray(s.slab.starts[run]!, s.slab.starts[i]!));
        run = i + 1;
      }
      if (run < s.to) out.push(s.slab.buf.subarray(s.slab.starts[run]!, s.slab.end(s.to - 1)));
    }
    out.push(BINARY_COPY_TRAILER);
    return out;
  }

  /** The endpoint and request id of row `i`, read back from its tuple (for reports). */
  describe(i: number): { endpointId: string; requestId: string | null } {
    const { spans } = this.slice(i, i + 1);
    const s = spans[0]!;
    const b = s.slab.buf;
    // Field count, two uuids (length and 16 bytes each), then the bundle hash, the time (8 bytes) and the request id.
    let at = s.slab.starts[s.from]! + 2 + 40;
    at += 4 + Math.max(0, b.readInt32BE(at)) + 12;
    const n = b.readInt32BE(at);
    return { endpointId: s.slab.endpoints[s.from]!, requestId: n < 0 ? null : b.toString('utf8', at + 4, at + 4 + n) };
  }
}

/** Where the log's rows are encoded as they arrive: the queue a recorder writes from. */
export class PredictionRowQueue {
  private slab: Slab | null = null;
  private spans: Span[] = [];
  private count = 0;
  private readonly pairs = new PairIds();

  get length(): number {
    return this.count;
  }

  /**
   * Encodes `r` behind the rows queued. Throws, queueing nothing, when the record cannot be
   * spelled in JSON (a BigInt, a cycle).
   */
  push(r: LoggedPrediction): void {
    // A record JSON cannot spell (undefined) is stored as JSON null: the column is NOT NULL.
    const json = JSON.stringify(r.record) ?? 'null';
    // UTF-8 takes at most 3 bytes per UTF-16 unit; fixed fields: count, uuids, time, float, bool and six text lengths.
    const bound = 2 + 40 + 12 + 12 + 5 + 24 + 3 * ((r.bundleHash?.length ?? 0) + (r.requestId?.length ?? 0) + json.length + r.label.length + (r.pairId?.length ?? 0));
    let slab = this.slab;
    if (slab === null || slab.used + bound > slab.buf.length) this.slab = slab = new Slab(Math.max(SLAB_BYTES, bound));
    slab.starts.push(slab.used);
    slab.endpoints.push(r.endpointId);
    slab.used = encodeTuple(slab.buf, slab.used, this.pairs.of(r.endpointId, r.versionId), r, json);
    const last = this.spans[this.spans.length - 1];
    const row = slab.starts.length - 1;
    if (last && last.slab === slab && last.to === row) this.spans[this.spans.length - 1] = { slab, from: last.from, to: row + 1 };
    else this.spans.push({ slab, from: row, to: row + 1 });
    this.count++;
  }

  /** Everything queued, oldest first; the queue is left empty (later rows may share the last slab). */
  take(): EncodedRows {
    const rows = new EncodedRows(this.spans, this.count);
    this.spans = [];
    this.count = 0;
    return rows;
  }

  /** Puts `rows` back in front of what is queued. */
  unshift(rows: EncodedRows): void {
    const all = rows.concat(this.take());
    this.spans = [...all.spans];
    this.count = all.length;
  }

  /** Drops the oldest `n` rows. */
  dropOldest(n: number): void {
    const kept = this.take().slice(n);
    this.spans = [...kept.spans];
    this.count = kept.length;
  }
}

/** The rows as a binary COPY stream: header, their tuples, trailer. */
export function encodePredictionRows(rows: readonly LoggedPrediction[]): Buffer[] {
  const q = new PredictionRowQueue();
  for (const r of rows) q.push(r);
  return q.take().copyData();
}

/** Microseconds between the Unix epoch and Postgres's (2000-01-01 UTC). */
const PG_EPOCH_MS = 946_684_800_000;
const TWO_32 = 4_294_967_296;

/**
 * One tuple of the COPY statement's ten fields at `at` (the caller made room); returns where it ends.
 * uuid: 16 bytes; timestamptz: int64 microseconds since 2000-01-01 UTC; float8; bool: one byte;
 * text and json: UTF-8 bytes (a NUL, which Postgres text cannot hold, as U+FFFD); NULL: length -1.
 * It runs on the request path, once per record, so it avoids a native call per field where it can:
 * each endpoint and version pair's 40 bytes are encoded once, short ASCII text is copied a character
 * at a time, integers are stored byte by byte.
 */
function encodeTuple(b: Buffer, at: number, pair: Buffer, r: LoggedPrediction, json: string): number {
  b[at] = 0;
  b[at + 1] = 10;
  at = copyBytes(b, at + 2, pair);
  at = text(b, at, r.bundleHash);
  const us = (r.at - PG_EPOCH_MS) * 1000;
  const high = Math.floor(us / TWO_32);
  at = uint32(b, at, 8);
  at = uint32(b, at, high >>> 0);
  at = uint32(b, at, us - high * TWO_32);
  at = text(b, at, r.requestId);
  at = text(b, at, json);
  at = uint32(b, at, 8);
  at = b.writeDoubleBE(Number.isFinite(r.probability) ? r.probability : NaN, at);
  at = text(b, at, r.label);
  at = uint32(b, at, 1);
  b[at++] = r.shadow === true ? 1 : 0;
  return text(b, at, r.pairId ?? null);
}

// Byte stores rather than Buffer's writeUInt32BE: that checks its arguments on every call (and was
// not inlined on the server's hot path).
function uint32(b: Buffer, at: number, v: number): number {
  b[at] = v >>> 24;
  b[at + 1] = v >>> 16;
  b[at + 2] = v >>> 8;
  b[at + 3] = v;
  return at + 4;
}

function copyBytes(b: Buffer, at: number, src: Buffer): number {
  for (let i = 0; i < src.length; i++) b[at + i] = src[i]!;
  return at + src.length;
}

/** Node's Buffer method behind `write(string, offset, 'utf8')` (in every Node version, untyped). */
type Utf8Writable = Buffer & { utf8Write(s: string, offset: number): number };

/** A text field (length, UTF-8 bytes) or NULL (length -1). */
function text(b: Buffer, at: number, v: string | null): number {
  if (v === null) return uint32(b, at, 0xffffffff);
  const start = at + 4;
  if (v.length <= 64) {
    let i = 0;
    for (; i < v.length; i++) {
      const c = v.charCodeAt(i);
      if (c >= 0x80 || c === 0) break;
      b[start + i] = c;
    }
    if (i === v.length) {
      uint32(b, at, v.length);
      return start + v.length;
    }
  }
  // Postgres text cannot hold NUL: stored as U+FFFD (the replacement character) rather than refused.
  // `utf8Write` is what `Buffer#write(v, start, 'utf8')` ends in, without its argument juggling
  // (about 0.3 us a call here, as much as the encoding of a whole record's text).
  const n = (b as Utf8Writable).utf8Write(v.includes('\0') ? v.replaceAll('\0', '\uFFFD') : v, start);
  uint32(b, at, n);
  return start + n;
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
    if (!pair) {
      // Pairs of deleted endpoints and retired versions are not kept forever.
      if (this.byKey.size >= 1_000) this.byKey.clear();
      this.byKey.set(key, (pair = uuidPair(endpointId, versionId)));
    }
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
