/**
 * The prediction log's queue of encoded rows: rows are encoded as they are handed over, and what a
 * write takes, gives back or drops is always whole rows in arrival order, whatever the slabs.
 */
import { describe, expect, it } from 'vitest';
import { PredictionRowQueue, type EncodedRows, type LoggedPrediction } from '@/server/services/scoring/prediction-log-rows';

const endpoints = ['5aec928f-165d-4f1e-beb2-4ac2a24b25e2', '0f0e0d0c-165d-4f1e-beb2-4ac2a24b25e2'];

function row(i: number, pad = 0): LoggedPrediction {
  return {
    endpointId: endpoints[Math.floor(i / 3) % 2]!,
    versionId: 'f11ce234-ddd6-4905-a7f4-669b9871b1ae',
    bundleHash: null,
    at: 1_765_000_000_000 + i,
    requestId: i % 5 === 4 ? null : `req-${i}`,
    record: { i, pad: 'é'.repeat(pad) },
    probability: 0.5,
    label: 'x',
  };
}

/** The request ids of the COPY stream's tuples, in order (the fifth field). */
function requestIds(parts: Buffer[]): (string | null)[] {
  const buf = Buffer.concat(parts);
  let at = 19;
  const ids: (string | null)[] = [];
  for (;;) {
    const n = buf.readInt16BE(at);
    at += 2;
    if (n === -1) break;
    for (let f = 0; f < n; f++) {
      const len = buf.readInt32BE(at);
      if (f === 4) ids.push(len < 0 ? null : buf.toString('utf8', at + 4, at + 4 + len));
      at += 4 + Math.max(len, 0);
    }
  }
  expect(at).toBe(buf.length);
  return ids;
}

const idsOf = (rows: EncodedRows, keep?: (endpointId: string) => boolean) => requestIds(rows.copyData(keep));
const expectedIds = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => row(from + k).requestId);

describe('the prediction log queue', () => {
  // Records of ~100 KB: a few rows to a slab, so slices and drops cross slab boundaries.
  const big = (i: number) => row(i, 40_000);

  it('gives back whole rows in arrival order across slabs: slices, drops, rows put back in front', () => {
    const q = new PredictionRowQueue();
    for (let i = 0; i < 20; i++) q.push(big(i));
    expect(q.length).toBe(20);
    const taken = q.take();
    expect(q.length).toBe(0);
    expect(idsOf(taken)).toEqual(expectedIds(0, 20));
    expect(idsOf(taken.slice(3, 11))).toEqual(expectedIds(3, 11));
    expect(taken.slice(3, 11).length).toBe(8);
    // Rows that arrive while a write is in flight land behind it (the same slab) without changing it.
    for (let i = 20; i < 25; i++) q.push(big(i));
    expect(idsOf(taken)).toEqual(expectedIds(0, 20));
    q.unshift(taken.slice(7));
    expect(q.length).toBe(18);
    q.dropOldest(4);
    expect(q.length).toBe(14);
    q.push(big(25));
    expect(idsOf(q.take())).toEqual(expectedIds(11, 26));
  });

  it('leaves out the rows of endpoints a write does not keep, and names each row for a report', () => {
    const q = new PredictionRowQueue();
    for (let i = 0; i < 30; i++) q.push(row(i));
    const rows = q.take();
    expect(rows.endpointIds().sort()).toEqual([...endpoints].sort());
    const kept = Array.from({ length: 30 }, (_, i) => i).filter((i) => row(i).endpointId === endpoints[1]);
    expect(idsOf(rows, (id) => id === endpoints[1])).toEqual(kept.map((i) => row(i).requestId));
    expect(idsOf(rows, () => false)).toEqual([]);
    expect(rows.describe(7)).toEqual({ endpointId: row(7).endpointId, requestId: 'req-7' });
    expect(rows.describe(9)).toEqual({ endpointId: row(9).endpointId, requestId: null });
  });

  it('queues nothing for a record JSON cannot spell, and stores undefined as JSON null', () => {
    const q = new PredictionRowQueue();
    expect(() => q.push({ ...row(0), record: { n: 1n } })).toThrow();
    expect(q.length).toBe(0);
    q.push({ ...row(1), record: undefined });
    const buf = Buffer.concat(q.take().copyData());
    expect(buf.includes(Buffer.from('null'))).toBe(true);
    expect(requestIds([buf])).toEqual(['req-1']);
  });
});
