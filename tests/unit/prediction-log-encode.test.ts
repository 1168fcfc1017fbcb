import { describe, expect, it } from 'vitest';
import { encodePredictionRows, encodePredictionRowsBetweenRequests, type LoggedPrediction } from '@/server/services/scoring/prediction-log-recorder';

/** Reads binary COPY tuples back (Postgres's format: header, int16 field count, int32 length + bytes per field, -1 trailer). */
function decode(parts: Buffer[]): (Buffer | null)[][] {
  const buf = Buffer.concat(parts);
  expect(buf.subarray(0, 11).toString('latin1')).toBe('PGCOPY\n\xff\r\n\0');
  let at = 19;
  const tuples: (Buffer | null)[][] = [];
  for (;;) {
    const n = buf.readInt16BE(at);
    at += 2;
    if (n === -1) break;
    const fields: (Buffer | null)[] = [];
    for (let i = 0; i < n; i++) {
      const len = buf.readInt32BE(at);
      at += 4;
      fields.push(len < 0 ? null : buf.subarray(at, at + len));
      at += Math.max(len, 0);
    }
    tuples.push(fields);
  }
  expect(at).toBe(buf.length);
  return tuples;
}

describe('the prediction log binary COPY encoding', () => {
  it('encodes every field of every row, across the 1 MB parts, whatever the text lengths', () => {
    const endpointId = '5aec928f-165d-4f1e-beb2-4ac2a24b25e2';
    const versionId = 'f11ce234-ddd6-4905-a7f4-669b9871b1ae';
    // Text lengths cycle so that fields of every kind land on the parts' last bytes; CJK text takes
    // the 3 bytes per character that the encoder reserves, leaving nothing spare after it.
    const rows: LoggedPrediction[] = Array.from({ length: 20_000 }, (_, i) => ({
      endpointId,
      versionId,
      bundleHash: i % 3 === 0 ? null : (i % 2 ? 'h' : '文').repeat(i % 17),
      at: 1_765_000_000_000 + i,
      requestId: i % 5 === 0 ? null : `r${i}`,
      record: i % 2 ? { i, pad: 'x'.repeat(i % 97), word: i % 7 === 0 ? 'déjà 🙂' : 'plain' } : '中'.repeat(i % 101),
      probability: i / 20_000,
      label: i % 11 === 0 ? 'ünï' : i % 3 === 0 ? '文'.repeat(i % 13) : 'l'.repeat(i % 13),
      shadow: i % 2 === 0,
      pairId: i % 4 === 0 ? `p${i}` : null,
    }));
    const parts = encodePredictionRows(rows);
    expect(parts.length).toBeGreaterThan(2);
    const tuples = decode(parts);
    expect(tuples).toHaveLength(rows.length);
    const text = (b: Buffer | null) => (b === null ? null : b.toString('utf8'));
    const uuid = (b: Buffer | null) => b!.toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-');
    tuples.forEach((f, i) => {
      const r = rows[i]!;
      expect(f).toHaveLength(10);
      expect(uuid(f[0]!)).toBe(endpointId);
      expect(uuid(f[1]!)).toBe(versionId);
      expect(text(f[2]!)).toBe(r.bundleHash);
      expect(f[3]!.readBigInt64BE(0)).toBe(BigInt(r.at - Date.UTC(2000, 0, 1)) * 1000n);
      expect(text(f[4]!)).toBe(r.requestId);
      expect(JSON.parse(text(f[5]!)!)).toEqual(r.record);
      expect(f[6]!.readDoubleBE(0)).toBe(r.probability);
      expect(text(f[7]!)).toBe(r.label);
      expect(f[8]![0]).toBe(r.shadow ? 1 : 0);
      expect(text(f[9]!)).toBe(r.pairId);
    });
  });

  it('gives each row its own endpoint and version ids when pairs alternate, and times before 2000 as negative microseconds', () => {
    const endpoints = ['5aec928f-165d-4f1e-beb2-4ac2a24b25e2', '0f0e0d0c-165d-4f1e-beb2-4ac2a24b25e2'];
    const versions = ['f11ce234-ddd6-4905-a7f4-669b9871b1ae', '0a0b0c0d-ddd6-4905-a7f4-669b9871b1ae', '1a1b1c1d-ddd6-4905-a7f4-669b9871b1ae'];
    // Runs of one pair, then every row another pair: the same pair again after a different one included.
    const pick = (i: number) => (i < 10 ? 0 : i % 3);
    const rows: LoggedPrediction[] = Array.from({ length: 40 }, (_, i) => ({
      endpointId: endpoints[pick(i) % 2]!,
      versionId: versions[pick(i)]!,
      bundleHash: null,
      at: i % 2 ? Date.UTC(1999, 11, 31, 23, 59, 59, 999) - i * 86_400_000 : 1_765_000_000_000 + i,
      requestId: null,
      record: { i },
      probability: 0.5,
      label: 'x',
    }));
    const uuid = (b: Buffer | null) => b!.toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-');
    decode(encodePredictionRows(rows)).forEach((f, i) => {
      expect(uuid(f[0]!)).toBe(rows[i]!.endpointId);
      expect(uuid(f[1]!)).toBe(rows[i]!.versionId);
      expect(f[3]!.readBigInt64BE(0)).toBe(BigInt(rows[i]!.at - Date.UTC(2000, 0, 1)) * 1000n);
    });
  });

  it('encodes a chunk between requests to the same bytes, letting the event loop turn every few hundred rows', async () => {
    const rows: LoggedPrediction[] = Array.from({ length: 3_000 }, (_, i) => ({
      endpointId: i % 2 ? '5aec928f-165d-4f1e-beb2-4ac2a24b25e2' : '0f0e0d0c-165d-4f1e-beb2-4ac2a24b25e2',
      versionId: 'f11ce234-ddd6-4905-a7f4-669b9871b1ae',
      bundleHash: null,
      at: 1_765_000_000_000 + i,
      requestId: `r${i}`,
      record: { i, word: i % 7 === 0 ? 'déjà 🙂' : 'plain' },
      probability: i / 3_000,
      label: i % 3 ? 'good' : 'bad',
      pairId: null,
    }));
    // A request waiting for the event loop is served before the encoding ends, not after it.
    let encoded = false;
    let servedWhileEncoding = false;
    setImmediate(() => (servedWhileEncoding = !encoded));
    const parts = await encodePredictionRowsBetweenRequests(rows);
    encoded = true;
    expect(servedWhileEncoding).toBe(true);
    expect(Buffer.concat(parts).equals(Buffer.concat(encodePredictionRows(rows)))).toBe(true);
  });
});
