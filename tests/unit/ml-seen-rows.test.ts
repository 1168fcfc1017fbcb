import { describe, expect, it } from 'vitest';
import { decodeSeenRows, encodeSeenRows, hasRow, seenRowSet, unseenRows } from '@/server/ml/seen-rows';

describe('seen rows', () => {
  // Signed 32-bit hashes as Postgres hashtext returns them, duplicates included.
  const hashes = Int32Array.from([5, -7, 5, 2_000_000_000, -2_000_000_000, 0, 13]);

  it('keeps the distinct hashes of the training rows, sorted as unsigned', () => {
    const set = seenRowSet(hashes, [0, 1, 2, 3, 4]);
    expect(Array.from(set)).toEqual([5, 2_000_000_000, 2 ** 32 - 2_000_000_000, 2 ** 32 - 7]);
    for (const r of [0, 1, 2, 3, 4]) expect(hasRow(set, hashes[r]!)).toBe(true);
    expect(hasRow(set, 0)).toBe(false);
    expect(hasRow(set, 13)).toBe(false);
  });

  it('drops exactly the rows whose values were trained on, keeping order', () => {
    const set = seenRowSet(hashes, [1, 3]);
    expect(unseenRows(set, hashes, [6, 5, 3, 2, 1, 0])).toEqual([6, 5, 2, 0]);
  });

  it('round-trips through its artifact bytes and refuses anything else', () => {
    const set = seenRowSet(hashes, [0, 1, 2, 3, 4, 5, 6]);
    expect(Array.from(decodeSeenRows(encodeSeenRows(set)))).toEqual(Array.from(set));
    expect(encodeSeenRows(set).byteLength).toBe(8 + 4 * set.length);
    expect(() => decodeSeenRows(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]))).toThrow(/not a seen-rows digest/);
    expect(() => decodeSeenRows(encodeSeenRows(set).slice(0, 12))).toThrow(/announced/);
  });
});
