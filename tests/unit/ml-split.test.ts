import { describe, expect, it } from 'vitest';
import { seededRandom } from '@/server/ml/random';
import { holdoutSplit } from '@/server/ml/split';

const labels = (n: number, positiveEvery: number) => Uint8Array.from({ length: n }, (_, i) => (i % positiveEvery === 0 ? 1 : 0));
const rate = (y: Uint8Array, rows: Uint32Array) => rows.reduce((s, r) => s + y[r]!, 0) / rows.length;

describe('holdout split', () => {
  it('keeps the class ratio in both parts when stratified', () => {
    const y = labels(1000, 10); // 10% positive
    for (const seed of [1, 2, 3]) {
      const { train, holdout } = holdoutSplit(y, { fraction: 0.2, seed, stratify: true });
      expect(holdout.length).toBe(200);
      expect(rate(y, holdout)).toBe(0.1);
      expect(rate(y, train)).toBe(0.1);
    }
  });

  it('partitions the rows: disjoint, complete, ascending', () => {
    const y = labels(101, 3);
    const { train, holdout } = holdoutSplit(y, { fraction: 0.3, seed: 9, stratify: false });
    expect(holdout.length).toBe(30);
    const all = [...train, ...holdout].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 101 }, (_, i) => i));
    expect([...train]).toEqual([...train].sort((a, b) => a - b));
  });

  it('is the same for the same seed and different for another', () => {
    const y = labels(500, 4);
    const a = holdoutSplit(y, { fraction: 0.2, seed: 42, stratify: true });
    const b = holdoutSplit(y, { fraction: 0.2, seed: 42, stratify: true });
    const c = holdoutSplit(y, { fraction: 0.2, seed: 43, stratify: true });
    expect([...a.holdout]).toEqual([...b.holdout]);
    expect([...a.holdout]).not.toEqual([...c.holdout]);
  });

  it('splits only the given rows (the early-stopping part of the training rows)', () => {
    const y = labels(100, 2);
    const rows = Uint32Array.from({ length: 50 }, (_, i) => i * 2 + 1);
    const { train, holdout } = holdoutSplit(y, { fraction: 0.1, seed: 1, stratify: true }, rows);
    expect([...train, ...holdout].every((r) => r % 2 === 1)).toBe(true);
    expect(train.length + holdout.length).toBe(50);
  });

  it('draws the same seeded sequence on every run', () => {
    const rng = seededRandom(42);
    const first = [rng.next(), rng.next(), rng.next()];
    const again = seededRandom(42);
    expect([again.next(), again.next(), again.next()]).toEqual(first);
    expect(first.every((x) => x >= 0 && x < 1)).toBe(true);
  });
});
