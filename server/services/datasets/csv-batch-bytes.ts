/**
 * One batch's CSV bytes, written line by line (or run by run, see csv-rows.ts) into a buffer of its
 * own (a new one per batch: the previous may still be on its way to Postgres).
 */
export class BatchBytes {
  private buf: Buffer;
  used = 0;
  constructor(readonly batchBytes: number) {
    this.buf = Buffer.allocUnsafe(batchBytes * 2);
  }
  private room(bytes: number): void {
    if (this.used + bytes <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.used + bytes));
    this.buf.copy(bigger, 0, 0, this.used);
    this.buf = bigger;
  }
  /** Appends a line; true when the batch is full. */
  add(line: string): boolean {
    // UTF-8 takes at most 3 bytes per UTF-16 unit (a surrogate pair: 4 bytes for 2 units).
    this.room(line.length * 3);
    this.used += this.buf.write(line, this.used);
    return this.used >= this.batchBytes;
  }
  /** Appends bytes [s, e) of `src`. */
  addBytes(src: Buffer, s: number, e: number): void {
    if (e <= s) return;
    this.room(e - s);
    this.used += src.copy(this.buf, this.used, s, e);
  }
  take(): Buffer {
    const out = this.buf.subarray(0, this.used);
    this.buf = Buffer.allocUnsafe(this.batchBytes * 2);
    this.used = 0;
    return out;
  }
}
