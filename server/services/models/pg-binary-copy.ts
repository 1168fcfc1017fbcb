/**
 * Postgres binary COPY (https://www.postgresql.org/docs/current/sql-copy.html, "Binary Format"), as
 * batch scoring uses it: tuples read from `COPY (SELECT ...) TO STDOUT (FORMAT binary)` are cut into
 * batches without decoding the columns that only pass through, and written back to
 * `COPY ... FROM STDIN (FORMAT binary)` with extra fields appended. Binary is lossless for every
 * type (no float digits, DateStyle or escaping to get right) and the numbers a model reads need no
 * parsing. Pure (no I/O).
 */

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** Signature, flags (0: no OIDs), header extension length (0). */
export const BINARY_COPY_HEADER = Buffer.concat([SIGNATURE, Buffer.alloc(8)]);
export const BINARY_COPY_TRAILER = Buffer.from([0xff, 0xff]);

/**
 * A batch of whole tuples, copied into one buffer. For each row: where its tuple starts (at its
 * field count), where the first `passFields` fields end, and the offset and length of each
 * `pickFields` field (offset -1: NULL).
 */
export type TupleBatch = {
  /** Row number of the batch's first row, 0-based across the stream. */
  firstRow: number;
  rows: number;
  buf: Buffer;
  tupleStart: Int32Array;
  passEnd: Int32Array;
  pickOffset: Int32Array;
  pickLength: Int32Array;
};

/**
 * Cuts a binary COPY stream into batches of `batchRows` rows. Each tuple must have `fieldCount`
 * fields; `pick` lists the field positions whose values the caller decodes (picked in that order,
 * `pick.length` per row); the first `passFields` fields are the ones written back.
 *
 * Chunks are appended to the batch's buffer and their tuples indexed where they lie: the stream's
 * bytes are copied once, and only the incomplete tuple after a full batch moves on to the next.
 */
export class TupleSplitter {
  private headerRead = false;
  private ended = false;
  private rowsSeen = 0;
  private batch: TupleBatch;
  private view: DataView;
  /** Bytes of the stream in the batch's buffer; the tuples indexed so far end at `parsed`. */
  private used = 0;
  private parsed = 0;
  private readonly picks: Int32Array;
  /** Batches the caller is done with (recycle), whose memory the next batches take. */
  private readonly spares: TupleBatch[] = [];

  constructor(private readonly opts: { fieldCount: number; passFields: number; pick: readonly number[]; batchRows: number }) {
    // picks[field] = index of the field among the picked ones, or -1.
    this.picks = new Int32Array(opts.fieldCount).fill(-1);
    opts.pick.forEach((f, k) => (this.picks[f] = k));
    this.batch = this.newBatch(1 << 20, Math.min(opts.batchRows, 1024));
    this.view = viewOf(this.batch.buf);
  }

  /** The batches this chunk completes (the last, partial batch comes from `end()`). */
  push(chunk: Buffer): TupleBatch[] {
    if (this.ended) return [];
    this.ensureBytes(this.used + chunk.length);
    this.used += chunk.copy(this.batch.buf, this.used);
    if (!this.headerRead) {
      const b = this.batch.buf;
      if (this.used < SIGNATURE.length + 8) return [];
      if (!b.subarray(0, SIGNATURE.length).equals(SIGNATURE)) throw new Error('not a binary COPY stream');
      const extension = b.readInt32BE(SIGNATURE.length + 4);
      if (this.used < SIGNATURE.length + 8 + extension) return [];
      this.parsed = SIGNATURE.length + 8 + extension;
      this.headerRead = true;
    }
    const done: TupleBatch[] = [];
    while (this.take()) done.push(this.finishBatch());
    return done;
  }

  /** The last batch (possibly empty); throws when the stream stopped before its trailer. */
  end(): TupleBatch {
    if (!this.ended) throw new Error('binary COPY stream ended before its trailer');
    return this.finishBatch();
  }

  get rowsRead(): number {
    return this.rowsSeen;
  }

  /**
   * Gives a handed-out batch's memory back for the next batches (the caller no longer reads it):
   * a batch's buffers are megabytes, and allocating them anew for every batch kept V8's garbage
   * collector marking the whole heap about once a batch (external memory pressure).
   */
  recycle(batch: TupleBatch): void {
    if (this.spares.length < 2) this.spares.push({ ...batch, buf: Buffer.from(batch.buf.buffer, batch.buf.byteOffset, batch.buf.buffer.byteLength - batch.buf.byteOffset) });
  }

  /** Indexes the complete tuples after `parsed`, up to the batch's size; true when the batch is full. */
  private take(): boolean {
    const { fieldCount, passFields, batchRows } = this.opts;
    const b = this.batch;
    const view = this.view;
    const end = this.used;
    const width = this.opts.pick.length;
    const picks = this.picks;
    let pos = this.parsed;
    while (b.rows < batchRows) {
      if (pos + 2 > end) break;
      const count = view.getInt16(pos);
      if (count === -1) {
        this.ended = true;
        pos += 2;
        break;
      }
      if (count !== fieldCount) throw new Error(`binary COPY tuple has ${count} fields, expected ${fieldCount}`);
      let p = pos + 2;
      let passEnd = -1;
      let complete = true;
      const row = b.rows;
      if (row === b.tupleStart.length) this.ensureRows(row + 1);
      for (let f = 0; f < fieldCount; f++) {
        if (p + 4 > end) {
          complete = false;
          break;
        }
        const len = view.getInt32(p);
        p += 4;
        const k = picks[f]!;
        if (k >= 0) {
          b.pickOffset[row * width + k] = len < 0 ? -1 : p;
          b.pickLength[row * width + k] = len;
        }
        if (len > 0) p += len;
        if (p > end) {
          complete = false;
          break;
        }
        if (f === passFields - 1) passEnd = p;
      }
      if (!complete) break;
      b.tupleStart[row] = pos;
      b.passEnd[row] = passFields === 0 ? pos + 2 : passEnd;
      b.rows++;
      this.rowsSeen++;
      pos = p;
    }
    this.parsed = pos;
    return b.rows === batchRows && !this.ended;
  }

  /** An empty batch of at least `bytes` bytes and room for `rows` rows, from a spare when one is large enough. */
  private newBatch(bytes: number, rows: number): TupleBatch {
    const spare = this.spares.pop();
    if (spare && spare.buf.length >= bytes && spare.tupleStart.length >= rows) return { ...spare, firstRow: this.rowsSeen, rows: 0 };
    const width = this.opts.pick.length;
    return {
      firstRow: this.rowsSeen,
      rows: 0,
      buf: Buffer.allocUnsafe(bytes),
      tupleStart: new Int32Array(rows),
      passEnd: new Int32Array(rows),
      pickOffset: new Int32Array(rows * width),
      pickLength: new Int32Array(rows * width),
    };
  }

  /** Hands out the batch; the bytes after its last tuple (part of the next one) start the next batch. */
  private finishBatch(): TupleBatch {
    const b = this.batch;
    const done: TupleBatch = { ...b, buf: b.buf.subarray(0, this.parsed) };
    const rest = this.used - this.parsed;
    this.batch = this.newBatch(Math.max(1 << 16, b.buf.length, rest), b.tupleStart.length);
    this.view = viewOf(this.batch.buf);
    b.buf.copy(this.batch.buf, 0, this.parsed, this.used);
    this.used = rest;
    this.parsed = 0;
    return done;
  }

  private ensureRows(rows: number): void {
    const b = this.batch;
    if (rows <= b.tupleStart.length) return;
    const cap = Math.min(this.opts.batchRows, Math.max(rows, b.tupleStart.length * 2));
    const width = this.opts.pick.length;
    const grow = (a: Int32Array, n: number) => {
      const next = new Int32Array(n);
      next.set(a);
      return next;
    };
    b.tupleStart = grow(b.tupleStart, cap);
    b.passEnd = grow(b.passEnd, cap);
    b.pickOffset = grow(b.pickOffset, cap * width);
    b.pickLength = grow(b.pickLength, cap * width);
  }

  private ensureBytes(bytes: number): void {
    const b = this.batch;
    if (bytes <= b.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(bytes, b.buf.length * 2));
    b.buf.copy(next, 0, 0, this.used);
    b.buf = next;
    this.view = viewOf(next);
  }
}

const viewOf = (buf: Buffer) => new DataView(buf.buffer, buf.byteOffset, buf.byteLength);

/**
 * One field appended to every written tuple: each row's bytes, each row's number (or row r's at
 * `numbers[r * stride + offset]`, with no call per row), or one int8 for all.
 */
export type AppendedField = { bytes: readonly Uint8Array[] } | { float8: (row: number) => number } | { numbers: Float32Array | Float64Array; stride: number; offset: number } | { int8: bigint };

/**
 * The batch's tuples as binary COPY tuples: their first `passFields` fields, then `appended`. No
 * header or trailer (BINARY_COPY_HEADER before the first batch, BINARY_COPY_TRAILER after the last).
 * Written at the start of `into` when it is large enough.
 */
export function encodeTuples(batch: TupleBatch, passFields: number, appended: readonly AppendedField[], into?: Buffer): Buffer {
  const { buf, rows, tupleStart, passEnd } = batch;
  let size = 0;
  for (let r = 0; r < rows; r++) size += passEnd[r]! - tupleStart[r]!;
  for (const a of appended) {
    if ('bytes' in a) for (let r = 0; r < rows; r++) size += 4 + a.bytes[r]!.length;
    else size += 12 * rows;
  }
  const out = into && into.length >= size ? into.subarray(0, size) : Buffer.allocUnsafe(size);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const int8s = appended.map((a) => {
    if (!('int8' in a)) return null;
    const bytes = new Uint8Array(12);
    const v = new DataView(bytes.buffer);
    v.setInt32(0, 8);
    v.setBigInt64(4, a.int8);
    return bytes;
  });
  let p = 0;
  for (let r = 0; r < rows; r++) {
    view.setInt16(p, passFields + appended.length);
    p += 2;
    p += buf.copy(out, p, tupleStart[r]! + 2, passEnd[r]!);
    for (let j = 0; j < appended.length; j++) {
      const a = appended[j]!;
      if ('bytes' in a) {
        const bytes = a.bytes[r]!;
        view.setInt32(p, bytes.length);
        out.set(bytes, p + 4);
        p += 4 + bytes.length;
      } else if ('float8' in a) {
        view.setInt32(p, 8);
        view.setFloat64(p + 4, a.float8(r));
        p += 12;
      } else if ('numbers' in a) {
        view.setInt32(p, 8);
        view.setFloat64(p + 4, a.numbers[r * a.stride + a.offset]!);
        p += 12;
      } else {
        out.set(int8s[j]!, p);
        p += 12;
      }
    }
  }
  return out;
}
