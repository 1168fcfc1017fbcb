import { describe, expect, it } from 'vitest';
import { chartSpecOf } from '@/server/pipeline/chart-spec';
import { ChartSpec } from '@/server/pipeline/chart-spec-schema';
import { seededRandom } from '../helpers/collab';

describe('chart specs read from a document', () => {
  it('accepts and refuses exactly what the API schema does (seeded random specs)', () => {
    const rnd = seededRandom(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const values = ['bar', 'line', 'histogram', 'pie', '', 'x'.repeat(63), 'x'.repeat(64), 7, null, undefined, ['a'], { a: 1 }, 'amount', 'sum', 'mean', 'median'];
    let valid = 0;
    for (let i = 0; i < 5_000; i++) {
      const spec: Record<string, unknown> = {};
      for (const key of ['type', 'x', 'y', 'color', 'aggregate', 'extra']) if (rnd() < (key === 'extra' ? 0.05 : 0.8)) spec[key] = pick(values);
      const input = rnd() < 0.02 ? pick([null, 'bar', 3, [spec]]) : spec;
      const parsed = ChartSpec.safeParse(input);
      const read = chartSpecOf(input);
      expect(read, JSON.stringify(input)).toEqual(parsed.success ? parsed.data : null);
      if (read) valid++;
    }
    expect(valid).toBeGreaterThan(20);
  });
});
