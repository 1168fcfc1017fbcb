import { Readable } from 'node:stream';
import type { Connection } from 'pg';

/**
 * `COPY ... TO STDOUT` as a readable stream of the data's bytes, like pg-copy-streams' `to` (the
 * same hand-over of the connection: the socket is read here until the COPY ends, then given back to
 * node-postgres with whatever follows), without its cost per CopyData message: Postgres sends one
 * message a row, and pg-copy-streams made a Buffer of each, then concatenated them into a new one;
 * for a million rows that was a million small objects and the whole stream copied twice, which
 * kept V8's collector busy. Here each chunk read from the socket loses its message headers in place
 * (the payloads moved down over them) and goes on as it is: a socket's chunks are buffers of their
 * own, which nothing else reads once this stream has taken them.
 */

const ERROR_RESPONSE = 0x45;
const COPY_OUT_RESPONSE = 0x48;
const COPY_DATA = 0x64;
const NOTIFICATION_RESPONSE = 0x41;
const NOTICE_RESPONSE = 0x4e;
const PARAMETER_STATUS = 0x53;
/** Messages that may come between CopyOutResponse and CopyDone; any other ends copy-out mode (the protocol's rule). */
const COPY_MODE = new Set([COPY_OUT_RESPONSE, COPY_DATA, NOTIFICATION_RESPONSE, NOTICE_RESPONSE, PARAMETER_STATUS]);

type DataHandler = (chunk: Buffer) => void;

export class CopyOutStream extends Readable {
  rowCount = 0;
  private connection: Connection | null = null;
  private pgDataHandler: DataHandler | null = null;
  private readonly onReadable = () => this.forward();
  private drained = false;
  private forwarding = false;
  private finished = false;
  /** The message being read: its type and the bytes of its body still to come. */
  private code = 0;
  private remaining = 0;
  /** The start of a message header split between two chunks. */
  private partial: Buffer | null = null;

  constructor(readonly text: string) {
    super();
  }

  /** Called by node-postgres when the query is sent. */
  submit(connection: Connection): void {
    this.connection = connection;
    const stream = connection.stream;
    const listeners = stream.listeners('data') as DataHandler[];
    if (listeners.length !== 1) throw new Error(`expected one data listener on the connection, found ${listeners.length}`);
    this.pgDataHandler = listeners[0]!;
    stream.removeListener('data', this.pgDataHandler);
    stream.pause();
    this.forward();
    stream.on('readable', this.onReadable);
    connection.query(this.text);
  }

  override _read(): void {
    this.drained = true;
    this.forward();
  }

  private forward(): void {
    if (this.forwarding || !this.drained || !this.connection || this.finished) return;
    this.forwarding = true;
    const stream = this.connection.stream;
    let chunk: Buffer | null;
    while (this.drained && !this.finished && (chunk = stream.read() as Buffer | null) !== null) this.drained = this.parse(chunk);
    this.forwarding = false;
  }

  /** Strips the chunk's message headers, keeping CopyData payloads only; false when the consumer wants no more for now. */
  private parse(input: Buffer): boolean {
    const chunk = this.partial ? Buffer.concat([this.partial, input]) : input;
    this.partial = null;
    const n = chunk.length;
    let r = 0;
    let w = 0;
    while (r < n) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, n - r);
        if (this.code === COPY_DATA) {
          if (w !== r) chunk.copyWithin(w, r, r + take);
          w += take;
        }
        r += take;
        this.remaining -= take;
        if (this.remaining > 0 || COPY_MODE.has(this.code)) continue;
        return this.finish(chunk, w, r);
      }
      if (n - r < 5) {
        this.partial = Buffer.from(chunk.subarray(r));
        break;
      }
      this.code = chunk[r]!;
      // node-postgres reads the error and the rest (the query's handleError ends this stream).
      if (this.code === ERROR_RESPONSE) return this.finish(chunk, 0, r);
      this.remaining = chunk.readUInt32BE(r + 1) - 4;
      r += 5;
      if (this.remaining === 0 && !COPY_MODE.has(this.code)) return this.finish(chunk, w, r);
    }
    return w === 0 || this.push(chunk.subarray(0, w));
  }

  /** Copy-out mode is over at `r`: pushes the data before `w`, hands the socket back with the bytes from `r` on. */
  private finish(chunk: Buffer, w: number, r: number): boolean {
    this.finished = true;
    if (w > 0) this.push(chunk.subarray(0, w));
    const connection = this.connection!;
    const stream = connection.stream;
    stream.removeListener('readable', this.onReadable);
    stream.addListener('data', this.pgDataHandler!);
    this.pgDataHandler!(Buffer.from(chunk.subarray(r)));
    // As pg-copy-streams does: the data handler may pause the socket; resume it once it has returned.
    process.nextTick(() => stream.resume());
    if (this.code !== ERROR_RESPONSE) this.push(null);
    return false;
  }

  /** node-postgres: the query failed (the ErrorResponse handed back above). */
  handleError(err: Error): void {
    this.destroy(err);
  }

  /** node-postgres: `COPY n`, after the data. */
  handleCommandComplete(msg: { text?: string } | undefined): void {
    const match = /COPY (\d+)/.exec(msg?.text ?? '');
    if (match) this.rowCount = Number(match[1]);
  }

  handleReadyForQuery(): void {}
}
