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
 */
export class TupleSplitter {
  private carry: Buffer | null = null;
  private headerRead = false;
  private ended = false;
  private rowsSeen = 0;
  private batch: TupleBatch;
  private used = 0;
  private readonly picks: Int32Array;

  constructor(
    private readonly opts: { fieldCount: number; passFields: number; pick: readonly number[]; batchRows: number },
  ) {
    // picks[field] = index of the field among the picked ones, or -1.
    this.picks = new Int32Array(opts.fieldCount).fill(-1);
    opts.pick.forEach((f, k) => (this.picks[f] = k));
    this.batch = this.newBatch(1 << 20);
  }

  /** The batches this chunk completes (the last, partial batch comes from `end()`). */
  push(chunk: Buffer): TupleBatch[] {
    const work = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = null;
    let pos = 0;
    if (!this.headerRead) {
      if (work.length < SIGNATURE.length + 8) {
        this.carry = work;
        return [];
      }
      if (!work.subarray(0, SIGNATURE.length).equals(SIGNATURE)) throw new Error('not a binary COPY stream');
      const extension = work.readInt32BE(SIGNATURE.length + 4);
      if (work.length < SIGNATURE.length + 8 + extension) {
        this.carry = work;
        return [];
      }
      pos = SIGNATURE.length + 8 + extension;
      this.headerRead = true;
    }
    const done: TupleBatch[] = [];
    for (;;) {
      const next = this.take(work, pos);
      pos = next.pos;
      if (this.batch.rows === this.opts.batchRows) done.push(this.finishBatch());
      if (!next.full) break;
    }
    if (pos < work.length && !this.ended) this.carry = Buffer.from(work.subarray(pos));
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
   * Moves the complete tuples at `work[pos...]` into the batch, up to the batch's size. `full`:
   * the batch filled up before the data ran out (call again with the returned position).
   */
  private take(work: Buffer, start: number): { pos: number; full: boolean } {
    const { fieldCount, passFields, batchRows } = this.opts;
    const b = this.batch;
    const width = this.opts.pick.length;
    const firstRow = b.rows;
    let pos = start;
    while (b.rows < batchRows) {
      if (pos + 2 > work.length) break;
      const count = work.readInt16BE(pos);
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
      this.ensureRows(row + 1);
      for (let f = 0; f < fieldCount; f++) {
        if (p + 4 > work.length) {
          complete = false;
          break;
        }
        const len = work.readInt32BE(p);
        p += 4;
        const k = this.picks[f]!;
        if (k >= 0) {
          b.pickOffset[row * width + k] = len < 0 ? -1 : p;
          b.pickLength[row * width + k] = len;
        }
        if (len > 0) p += len;
        if (p > work.length) {
          complete = false;
          break;
        }
        if (f === passFields - 1) passEnd = p;
      }
      if (!complete) break;
      b.tupleStart[row] = pos;
      b.passEnd[row] = passFields === 0 ? pos + 2 : passEnd;
      b.rows++;
      pos = p;
    }
    // Offsets so far are into `work`: move the tuples into the batch buffer and shift them.
    const bytes = pos - start;
    const taken = b.rows - firstRow;
    if (taken > 0) {
      this.ensureBytes(this.used + bytes);
      work.copy(this.batch.buf, this.used, start, start + bytes);
      const shift = this.used - start;
      const bb = this.batch;
      for (let r = firstRow; r < bb.rows; r++) {
        bb.tupleStart[r]! += shift;
        bb.passEnd[r]! += shift;
        for (let k = r * width; k < (r + 1) * width; k++) if (bb.pickOffset[k]! >= 0) bb.pickOffset[k]! += shift;
      }
      this.used += bytes;
      this.rowsSeen += taken;
    }
    return { pos, full: this.batch.rows === batchRows && !this.ended };
  }

  private newBatch(bytes: number): TupleBatch {
    const rows = Math.min(this.opts.batchRows, 1024);
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

  private finishBatch(): TupleBatch {
    const b = this.batch;
    const done: TupleBatch = { ...b, buf: b.buf.subarray(0, this.used) };
    this.batch = this.newBatch(Math.max(1 << 16, b.buf.length));
    this.used = 0;
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
  }
}

/** One field appended to every written tuple. */
export type AppendedField = { bytes: (row: number) => Buffer } | { float8: (row: number) => number } | { int8: bigint };

/**
 * The batch's tuples as binary COPY tuples: their first `passFields` fields, then `appended`. No
 * header or trailer (BINARY_COPY_HEADER before the first batch, BINARY_COPY_TRAILER after the last).
 */
export function encodeTuples(batch: TupleBatch, passFields: number, appended: readonly AppendedField[]): Buffer {
  const { buf, rows, tupleStart, passEnd } = batch;
  let size = 0;
  for (let r = 0; r < rows; r++) {
    size += 2 + passEnd[r]! - (tupleStart[r]! + 2);
    for (const a of appended) size += 4 + ('bytes' in a ? a.bytes(r).length : 8);
  }
  const out = Buffer.allocUnsafe(size);
  const int8s = appended.map((a) => ('int8' in a ? a.int8 : 0n));
  let p = 0;
  for (let r = 0; r < rows; r++) {
    p = out.writeInt16BE(passFields + appended.length, p);
    p += buf.copy(out, p, tupleStart[r]! + 2, passEnd[r]!);
    for (let j = 0; j < appended.length; j++) {
      const a = appended[j]!;
      if ('bytes' in a) {
        const bytes = a.bytes(r);
        p = out.writeInt32BE(bytes.length, p);
        p += bytes.copy(out, p);
      } else if ('float8' in a) {
        p = out.writeInt32BE(8, p);
        p = out.writeDoubleBE(a.float8(r), p);
      } else {
        p = out.writeInt32BE(8, p);
        p = out.writeBigInt64BE(int8s[j]!, p);
      }
    }
  }
  return out;
}
