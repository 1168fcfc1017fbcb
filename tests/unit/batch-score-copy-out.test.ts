import { PassThrough } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import type { Connection } from 'pg';
import { describe, expect, it } from 'vitest';
import { CopyOutStream } from '@/server/services/models/copy-out';

const message = (code: string, body: Buffer) => {
  const head = Buffer.alloc(5);
  head.write(code, 0, 'latin1');
  head.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
};
/** Rows of 1 to 300 bytes, one CopyData message each, as Postgres sends them. */
const rows = Array.from({ length: 400 }, (_, i) => Buffer.alloc(1 + ((i * 37) % 300), i % 251));
const copyOut = message('H', Buffer.from([1, 0, 1, 0, 1]));
const notice = message('N', Buffer.from('Snotice\0\0'));
const afterCopy = Buffer.concat([message('C', Buffer.from('COPY 400\0')), message('Z', Buffer.from('I'))]);

/** A connection whose socket the test writes, with node-postgres's one data listener on it. */
function connection() {
  const stream = new PassThrough();
  const seenByPg: Buffer[] = [];
  stream.on('data', (b: Buffer) => seenByPg.push(b));
  const sent: string[] = [];
  return { conn: { stream, query: (text: string) => sent.push(text) } as unknown as Connection, stream, seenByPg, sent };
}

/** The bytes in chunks of `size`, each a buffer of its own, as a socket reads them (CopyOutStream rewrites them in place). */
async function feed(stream: PassThrough, bytes: Buffer, size: number) {
  for (let at = 0; at < bytes.length; at += size) {
    stream.write(Buffer.from(bytes.subarray(at, at + size)));
    await tick();
  }
}

describe('COPY TO STDOUT without a buffer per message', () => {
  it('passes the CopyData payloads on wherever the chunks split the messages, skips notices, and hands the socket back after CopyDone', async () => {
    const data = rows.flatMap((r, i) => (i === 200 ? [notice, message('d', r)] : [message('d', r)]));
    const wire = Buffer.concat([copyOut, ...data, message('c', Buffer.alloc(0)), afterCopy]);
    for (const size of [1, 3, 5, 7, 64, 1000, wire.length]) {
      const { conn, stream, seenByPg, sent } = connection();
      const copy = new CopyOutStream('COPY t TO STDOUT');
      copy.submit(conn);
      expect(sent).toEqual(['COPY t TO STDOUT']);
      const received: Buffer[] = [];
      const done = (async () => {
        for await (const chunk of copy) received.push(Buffer.from(chunk as Buffer));
      })();
      await feed(stream, wire, size);
      await done;
      await tick();
      expect(Buffer.concat(received).equals(Buffer.concat(rows))).toBe(true);
      expect(Buffer.concat(seenByPg).equals(afterCopy)).toBe(true);
      copy.handleCommandComplete({ text: 'COPY 400' });
      expect(copy.rowCount).toBe(400);
    }
  });

  it('hands an ErrorResponse to node-postgres and fails with the error it reports', async () => {
    const error = message('E', Buffer.from('SERROR\0Mdivision by zero\0\0'));
    const wire = Buffer.concat([copyOut, ...rows.slice(0, 50).map((r) => message('d', r)), error, message('Z', Buffer.from('I'))]);
    const { conn, stream, seenByPg } = connection();
    const copy = new CopyOutStream('COPY t TO STDOUT');
    copy.submit(conn);
    const done = (async () => {
      for await (const chunk of copy) void chunk;
    })();
    await feed(stream, wire, 100);
    await tick();
    expect(Buffer.concat(seenByPg).subarray(0, 1).toString('latin1')).toBe('E');
    copy.handleError(new Error('division by zero'));
    await expect(done).rejects.toThrow('division by zero');
  });
});
