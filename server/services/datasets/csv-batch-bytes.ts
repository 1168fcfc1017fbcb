/**
 * One batch's CSV bytes, written line by line into a buffer of its own (a new one per batch: the
 * previous may still be on its way to Postgres).
 */
export class BatchBytes {
  private buf: Buffer;
  used = 0;
  constructor(private readonly batchBytes: number) {
    this.buf = Buffer.allocUnsafe(batchBytes * 2);
  }
  /** Appends a line; true when the batch is full. */
  add(line: string): boolean {
    // UTF-8 takes at most 3 bytes per UTF-16 unit (a surrogate pair: 4 bytes for 2 units).
    const room = line.length * 3;
    if (this.used + room > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.used + room));
      this.buf.copy(bigger, 0, 0, this.used);
      this.buf = bigger;
    }
    this.used += this.buf.write(line, this.used);
    return this.used >= this.batchBytes;
  }
  take(): Buffer {
    const out = this.buf.subarray(0, this.used);
    this.buf = Buffer.allocUnsafe(this.batchBytes * 2);
    this.used = 0;
    return out;
  }
}
