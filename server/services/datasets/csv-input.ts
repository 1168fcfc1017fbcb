import { createHash } from 'node:crypto';
import { csvChunkDecoder, type CsvEncoding } from './csv-encoding';
import { CsvTooLarge, formatBytes } from './csv-problems';

const EMPTY = Buffer.alloc(0);

/**
 * An upload's bytes as the scanner reads them: pulled from the source when the scanner needs more
 * (so reading waits for the COPY, and memory holds about one chunk), counted against the size limit,
 * hashed as received, converted to UTF-8 (csv-encoding.ts) with a leading BOM dropped. `data` from
 * `pos` is what is not read yet.
 */
export class CsvInput {
  data: Buffer = EMPTY;
  pos = 0;
  /** The source is exhausted: `data` is all there is. */
  final = false;
  bytesIn = 0;
  private readonly hash = createHash('sha256');
  private readonly decoder;
  private readonly chunks: AsyncIterator<Buffer | string>;
  private started = false;
  private stopped: Error | null = null;

  constructor(
    source: AsyncIterable<Buffer | string>,
    private readonly maxBytes: number,
    encoding: CsvEncoding | undefined,
  ) {
    this.chunks = source[Symbol.asyncIterator]();
    this.decoder = csvChunkDecoder(encoding);
  }

  /**
   * Reads on until the unread part has doubled (or the input is over): a record cut by the end of
   * `data` is scanned again from its start, and doubling keeps a long record's rescans linear.
   */
  async grow(): Promise<void> {
    const rest = this.data.subarray(this.pos);
    const parts = [rest];
    let length = rest.length;
    while (!this.final && length < Math.max(2 * rest.length, rest.length + 1)) {
      const next = await this.pull();
      parts.push(next);
      length += next.length;
    }
    this.data = parts.length === 1 ? rest : Buffer.concat(parts, length);
    this.pos = 0;
  }

  private async pull(): Promise<Buffer> {
    if (this.stopped) throw this.stopped;
    const { value, done } = await this.chunks.next();
    if (this.stopped) throw this.stopped;
    if (done) {
      this.final = true;
      return this.decoded(this.decoder.end());
    }
    const buf = typeof value === 'string' ? Buffer.from(value) : value;
    this.bytesIn += buf.length;
    if (this.bytesIn > this.maxBytes) throw new CsvTooLarge(`the file is larger than the upload limit of ${formatBytes(this.maxBytes)}`);
    this.hash.update(buf);
    return this.decoded(this.decoder.next(buf));
  }

  private decoded(buf: Buffer): Buffer {
    if (this.started || buf.length === 0) return buf;
    this.started = true;
    // The decoder gives whole characters: a BOM is all in the first bytes or not there.
    return buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? buf.subarray(3) : buf;
  }

  sha256(): string {
    return this.hash.copy().digest('hex');
  }

  /** Stops reading: the next pull throws `err`. */
  stop(err: Error): void {
    this.stopped ??= err;
  }
}
